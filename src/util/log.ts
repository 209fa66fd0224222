/**
 * The one logger. Everything human goes to stderr, so `--json` leaves stdout to one JSON document.
 * Secrets registered with `redact()` are masked in every message before it is written.
 */
import { createConsola } from "consola";
import { colorOn, stripColor } from "./color.ts";

const secrets = new Set<string>();

/** Mask this value wherever it would be logged or reported (API keys, access keys). */
export function redact(secret: string | undefined): void {
  if (secret && secret.length >= 4) secrets.add(secret);
}

export function scrub(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

// consola decides colour once, from stdout and the environment; logs go to stderr, so stderr's
// own answer wins: codes are removed when it is not a terminal (a log file, `2>&1 | tee`).
const stderrColor = colorOn(process.stderr);

/** stderr, with secrets masked. Keeps isTTY/columns so consola formats as for a terminal. */
const scrubbedStderr = new Proxy(process.stderr, {
  get(target, prop) {
    if (prop === "write") return (chunk: unknown, ...rest: unknown[]) =>
      (target.write as (...a: unknown[]) => boolean)(typeof chunk === "string" ? (stderrColor ? scrub(chunk) : stripColor(scrub(chunk))) : chunk, ...rest);
    const v = Reflect.get(target, prop);
    return typeof v === "function" ? v.bind(target) : v;
  },
});

export const log = createConsola({
  stdout: scrubbedStderr,
  stderr: scrubbedStderr,
  level: process.env.E2E_DEBUG ? 4 : 3,
});

export const setQuiet = (quiet: boolean) => void (log.level = quiet ? 1 : process.env.E2E_DEBUG ? 4 : 3);
