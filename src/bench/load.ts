/**
 * The load generator, the same for MLflow and the loopback sink. Latencies come from mitata's
 * measure() with batching off (batch_threshold 0): one request per sample, so the p99 is a p99 of
 * requests, not of batch means. mitata drops the 2 fastest and 2 slowest samples; we ask for 4 more.
 */
import { measure } from "mitata";
import { interrupted } from "../runtime/lifecycle.ts";
import { InterruptedError } from "../util/errors.ts";
import type { ScaleStep } from "./knee.ts";
import { percentile } from "./stats.ts";

export class HttpError extends Error {}

/** POST a JSON body (already serialized), read the whole answer, throw unless 2xx. */
export async function postJson(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  const text = await res.text();
  if (!res.ok) throw new HttpError(`HTTP ${res.status} from ${new URL(url).pathname}: ${text.slice(0, 160)}`);
}

export async function getOk(url: string): Promise<number> {
  const res = await fetch(url);
  const buf = await res.arrayBuffer();
  if (!res.ok) throw new HttpError(`HTTP ${res.status} from ${new URL(url).pathname}: ${new TextDecoder().decode(buf.slice(0, 160))}`);
  return buf.byteLength;
}

function checkInterrupt(): void {
  const s = interrupted();
  if (s) throw new InterruptedError(s);
}

/** Exactly `samples` timed calls of fn (after mitata's warm-up), in milliseconds. */
export async function timeCalls(fn: () => Promise<unknown>, samples: number): Promise<number[]> {
  const n = samples + 4;
  const stats = await measure(async () => {
    checkInterrupt();
    await fn();
  }, { batch_threshold: 0, min_samples: n, max_samples: n, min_cpu_time: 0, warmup_samples: 2 });
  return stats.samples.map((ns) => ns / 1e6);
}

/**
 * As many timed calls as fit the budget (judged from three pilot calls), at least minSamples and
 * at most maxSamples: slow calls (a 1e6-point history) get fewer samples, and say so.
 */
export async function timeWithinBudget(fn: () => Promise<unknown>, o: { minSamples: number; maxSamples: number; budgetMs: number }): Promise<number[]> {
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await fn();
  const per = Math.max(0.01, (performance.now() - t0) / 3);
  const n = Math.max(o.minSamples, Math.min(o.maxSamples, Math.floor(o.budgetMs / per)));
  return timeCalls(fn, n);
}

/**
 * `clients` concurrent closed loops, each sending its next request when the last one answered,
 * for `seconds`. Errors are counted, not thrown; each loop stops at its first error.
 */
export async function closedLoop(clients: number, seconds: number, pointsPerRequest: number, request: (client: number, i: number) => Promise<void>): Promise<ScaleStep> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < end && !interrupted(); i++) {
        const t = performance.now();
        try {
          await request(c, i);
          latencies.push(performance.now() - t);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message.slice(0, 200);
          return;
        }
      }
    }),
  );
  checkInterrupt();
  const elapsed = (performance.now() - start) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    clients,
    throughput: (latencies.length * pointsPerRequest) / elapsed,
    requests: latencies.length,
    errors,
    seconds: elapsed,
    p50Ms: percentile(sorted, 0.5) || 0,
    p99Ms: percentile(sorted, 0.99) || 0,
    ...(firstError ? { firstError } : {}),
  };
}
