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

export interface SampleBudget {
  minSamples: number;
  maxSamples: number;
  /** Keep sampling past minSamples until the timed calls add up to this (mitata's min_cpu_time). */
  budgetMs: number;
}

/**
 * Timed calls of fn, in milliseconds: at least minSamples, then until budgetMs of measured time,
 * at most maxSamples. Slow calls (a 1e6-point history) get fewer samples, and their figures say so.
 */
export async function timeCalls(fn: () => Promise<unknown>, b: SampleBudget): Promise<number[]> {
  // mitata trims the 2 fastest and 2 slowest of more than 12 samples: ask for 4 more.
  const pad = (n: number) => (n > 8 ? n + 4 : n);
  const stats = await measure(async () => {
    checkInterrupt();
    await fn();
  }, { batch_threshold: 0, min_samples: pad(b.minSamples), max_samples: pad(Math.max(b.minSamples, b.maxSamples)), min_cpu_time: b.budgetMs * 1e6, warmup_samples: 1 });
  return stats.samples.map((ns) => ns / 1e6);
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
