/**
 * Colour only for a terminal, through the executable: `e2e --help | cat` and logs redirected to a
 * file carry no escape codes, NO_COLOR turns colour off at a terminal, FORCE_COLOR turns it on in
 * a pipe. A terminal is a pseudo-terminal made by util-linux `script`.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { e2eCommand } from "../helpers.ts";

const ESC = "\x1b[";
const e2e = e2eCommand().map((a) => `'${a}'`).join(" ");
const env = (extra: Record<string, string> = {}) => {
  const e: Record<string, string | undefined> = { ...process.env, ...extra };
  // As a user's shell: bun test sets NODE_ENV=test, and consola then picks its plain reporter.
  for (const k of ["NO_COLOR", "FORCE_COLOR", "CI", "TEST", "NODE_ENV"]) if (!(k in extra)) delete e[k];
  return { ...e, TERM: "xterm" } as NodeJS.ProcessEnv;
};
const hasScript = spawnSync("script", ["--version"]).status === 0;
/** Run a shell command line under a pseudo-terminal; returns what the terminal showed. */
const atTerminal = (cmd: string, extra: Record<string, string> = {}) =>
  spawnSync("script", ["-qec", cmd, "/dev/null"], { encoding: "utf8", env: env(extra) }).stdout;

test("help in a pipe has no colour; FORCE_COLOR turns it on", () => {
  const piped = spawnSync("sh", ["-c", `${e2e} --help | cat`], { encoding: "utf8", env: env() });
  expect(piped.stdout).toContain("USAGE");
  expect(piped.stdout).not.toContain(ESC);
  const forced = spawnSync("sh", ["-c", `${e2e} --help | cat`], { encoding: "utf8", env: env({ FORCE_COLOR: "1" }) });
  expect(forced.stdout).toContain(ESC);
});

// A test that cannot run here is reported as skipped, with its reason, never as a pass.
test.skipIf(!hasScript)(`at a terminal: colour, unless NO_COLOR; logs redirected to a file have none${hasScript ? "" : " (SKIPPED: util-linux script is not installed; apt-get install -y bsdutils)"}`, () => {
  expect(atTerminal(`${e2e} --help`)).toContain(ESC);
  const off = atTerminal(`${e2e} --help`, { NO_COLOR: "1" });
  expect(off).toContain("USAGE");
  expect(off).not.toContain(ESC);
  // stdout a terminal, stderr a file: the error badge consola would colour arrives plain.
  const dir = mkdtempSync(join(tmpdir(), "e2e-color-"));
  try {
    const shown = atTerminal(`${e2e} doctor --assets /nonexistent 2>'${dir}/log'`);
    expect(shown).not.toContain("requirements");
    const log = readFileSync(join(dir, "log"), "utf8");
    expect(log).toContain("some requirements are missing");
    expect(log).not.toContain(ESC);
    // The same at a terminal is coloured: the test above could fail.
    expect(atTerminal(`${e2e} doctor --assets /nonexistent`)).toContain(ESC);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
