/** Waiting with a deadline: poll until ready, give up early when the thing we wait on has died. */
import { interrupted, onInterrupt } from "./lifecycle.ts";
import { InterruptedError } from "../util/errors.ts";

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Resolves (with a reason) when waiting is pointless: the process exited. */
  abandon?: Promise<string>;
}

export type WaitResult = { ok: true } | { ok: false; reason: string };

export async function waitFor(probe: () => Promise<boolean>, opts: WaitOptions): Promise<WaitResult> {
  const deadline = Date.now() + opts.timeoutMs;
  let gaveUp: string | undefined;
  void opts.abandon?.then((r) => (gaveUp = r));
  let signal: string | undefined;
  const off = onInterrupt((s) => (signal = s));
  try {
    while (Date.now() < deadline) {
      if (signal || interrupted()) throw new InterruptedError(signal ?? interrupted()!);
      if (gaveUp) return { ok: false, reason: gaveUp };
      if (await probe().catch(() => false)) return { ok: true };
      await Bun.sleep(opts.intervalMs ?? 250);
    }
    return { ok: false, reason: `not ready after ${Math.round(opts.timeoutMs / 1000)} s` };
  } finally {
    off();
  }
}

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.ok;
}
