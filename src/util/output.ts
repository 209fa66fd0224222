/**
 * stdout for what other tools read (`--json`, help). Bun drops whatever is still queued for a
 * pipe when process.exit runs: `e2e run --json | jq` got only the first 64 KiB whenever the reader
 * was slower than e2e (seen under load). So every such write goes through `writeStdout`, and
 * main awaits `stdoutDrained()` before it exits. A reader that closes early (`| head`) ends the
 * wait too.
 */
let pending: Promise<void> | undefined;

export function writeStdout(text: string): void {
  const out = process.stdout;
  if (out.write(text) || pending) return;
  pending = new Promise<void>((resolve) => {
    const done = () => {
      for (const ev of ["drain", "error", "close"] as const) out.off(ev, done);
      pending = undefined;
      resolve();
    };
    for (const ev of ["drain", "error", "close"] as const) out.on(ev, done);
  });
}

/** Resolves once everything written with writeStdout has left the process. */
export const stdoutDrained = (): Promise<void> => pending ?? Promise.resolve();

/** Print a value as the one JSON document on stdout (`--json`; logs stay on stderr). */
export function printJson(value: unknown): void {
  writeStdout(`${JSON.stringify(value, null, 2)}\n`);
}
