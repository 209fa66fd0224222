/**
 * Ctrl-C during start-up: turn SIGINT/SIGTERM into an abort of the work in progress, so that
 * up() removes what it created before the process exits, instead of dying half-way.
 */

export class InterruptedError extends Error {
  override name = "InterruptedError";
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/**
 * Run `fn` with an AbortSignal that fires on SIGINT or SIGTERM (while `fn` runs; the handlers are
 * removed afterwards). A second signal while cleanup is still going on exits at once with 130/143.
 *
 *   const stack = await whileInterruptible((signal) => up(engine, def, { session, signal }));
 */
export async function whileInterruptible<T>(fn: (signal: AbortSignal) => Promise<T>, signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): Promise<T> {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(sig === "SIGINT" ? 130 : 143);
    ac.abort(new InterruptedError(sig));
  };
  for (const s of signals) process.on(s, handler);
  try {
    return await fn(ac.signal);
  } finally {
    for (const s of signals) process.off(s, handler);
  }
}
