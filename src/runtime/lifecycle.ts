/**
 * Teardown that always runs. Each started thing pushes its teardown; they run in reverse order
 * on normal exit, on error, and on SIGINT/SIGTERM. A second Ctrl-C during cleanup does not cut
 * it short: it only says that cleanup is still going on.
 */
import { log as consola } from "../util/log.ts";
import { signalExitCode } from "../util/errors.ts";

type Teardown = { name: string; fn: () => Promise<void> | void };

const stack: Teardown[] = [];
let running: Promise<void> | undefined;
let interruptedBy: string | undefined;
const interruptListeners = new Set<(signal: string) => void>();

/** Register a teardown; returns a function that unregisters it (after a clean stop). */
export function onTeardown(name: string, fn: () => Promise<void> | void): () => void {
  const entry = { name, fn };
  stack.push(entry);
  return () => {
    const i = stack.indexOf(entry);
    if (i >= 0) stack.splice(i, 1);
  };
}

/** Run every registered teardown, newest first; errors are logged, never thrown. */
export function runTeardowns(): Promise<void> {
  running ??= (async () => {
    while (stack.length) {
      const t = stack.pop()!;
      try {
        await t.fn();
      } catch (err) {
        consola.warn(`cleanup of ${t.name} failed: ${(err as Error).message}`);
      }
    }
  })().finally(() => {
    running = undefined;
  });
  return running;
}

export const interrupted = () => interruptedBy;

/** Called with the signal name when Ctrl-C/SIGTERM arrives, so long waits can stop early. */
export function onInterrupt(fn: (signal: string) => void): () => void {
  interruptListeners.add(fn);
  return () => interruptListeners.delete(fn);
}

let installed = false;
/** Install SIGINT/SIGTERM/SIGHUP handlers that clean up, then exit with 128+signal. */
export function installSignalHandlers(exit: (code: number) => never = process.exit): void {
  if (installed) return;
  installed = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (interruptedBy) {
        consola.warn(`${signal} again: still cleaning up, please wait`);
        return;
      }
      interruptedBy = signal;
      consola.warn(`${signal}: stopping and cleaning up`);
      for (const fn of interruptListeners) fn(signal);
      void runTeardowns().finally(() => exit(signalExitCode(signal)));
    });
  }
}
