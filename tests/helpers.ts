/** Shared by the integration tests: the compiled binary (or the source when not built), run as a user would. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";

export const repoRoot = join(import.meta.dir, "..");
export const binary = join(repoRoot, "dist", "e2e");

/** argv prefix that runs e2e: the compiled executable when built, else bun on the source. */
export function e2eCommand(): string[] {
  if (existsSync(binary) && !process.env.E2E_TEST_FROM_SOURCE) return [binary];
  return [process.execPath, join(repoRoot, "src", "main.ts")];
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export function runE2E(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const [cmd, ...pre] = e2eCommand();
  return new Promise((resolve) => {
    const child = spawn(cmd!, [...pre, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Command lines of live processes matching a pattern (for leftover checks). */
export function processesMatching(pattern: string): string[] {
  const r = spawnSync("pgrep", ["-af", pattern], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.trim() && !l.includes("pgrep"));
}

/** The Python that `e2e setup` made (tests share it with the user's cache). */
export function setupPython(): string {
  const r = spawnSync(e2eCommand()[0]!, [...e2eCommand().slice(1), "setup", "--json"], { encoding: "utf8", cwd: repoRoot, timeout: 1_200_000 });
  if (r.status !== 0) throw new Error(`e2e setup failed: ${r.stderr.slice(-2000)}`);
  return (JSON.parse(r.stdout) as { python: string }).python;
}

/** Live processes whose working folder or command line is under `dir` (leftover checks). */
export function processesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const pid of require("node:fs").readdirSync("/proc").filter((n: string) => /^\d+$/.test(n))) {
    try {
      const fs = require("node:fs");
      const cwd: string = fs.readlinkSync(`/proc/${pid}/cwd`);
      const cmd: string = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cwd.startsWith(dir) || cmd.includes(dir)) out.push(`${pid} ${cmd}`);
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}
