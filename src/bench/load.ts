/**
 * The load generator, the same for MLflow and the loopback sink. Every call is timed on its own
 * with performance.now() and every sample is kept: no warm-up trimming beyond one discarded first
 * call, no outlier removal (mitata's measure() drops the slowest samples, so its max is not the
 * max; it is not used here).
 */
import { interrupted } from "../runtime/lifecycle.ts";
import { InterruptedError } from "../util/errors.ts";
import type { ScaleStep } from "./knee.ts";
import { percentile } from "./stats.ts";

export class HttpError extends Error {}

/** One request of the load generator: the whole answer read, an HttpError unless 2xx. */
async function request(url: string, init: RequestInit = {}): Promise<ArrayBuffer> {
  const res = await fetch(url, { ...init, headers: { ...loadHeaders, ...(init.headers as Record<string, string> | undefined) } });
  const buf = await res.arrayBuffer();
  if (!res.ok) throw new HttpError(`HTTP ${res.status} from ${new URL(url).pathname}: ${new TextDecoder().decode(buf.slice(0, 160))}`);
  return buf;
}

/** POST a JSON body (already serialized), read the whole answer, throw unless 2xx. */
export async function postJson(url: string, body: string): Promise<void> {
  await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
}

export async function getOk(url: string): Promise<number> {
  return (await request(url)).byteLength;
}

/** GET the whole body into memory (an artifact download), throw unless 2xx. */
export async function getBytes(url: string): Promise<Uint8Array> {
  return new Uint8Array(await request(url, { signal: AbortSignal.timeout(300_000) }));
}

/** PUT a body (an artifact upload) and read the answer, throw unless 2xx. */
export async function putBytes(url: string, body: Uint8Array): Promise<void> {
  await request(url, { method: "PUT", body, headers: { "content-type": "application/octet-stream" }, signal: AbortSignal.timeout(300_000) });
}

function checkInterrupt(): void {
  const s = interrupted();
  if (s) throw new InterruptedError(s);
}

export interface SampleBudget {
  minSamples: number;
  maxSamples: number;
  /** Keep sampling past minSamples until the timed calls add up to this. */
  budgetMs: number;
  /** Stop at this wall time even short of minSamples (a slow call: the figure says why). */
  capMs: number;
}

export interface Timed {
  /** One per call, in call order, in milliseconds: all of them. */
  ms: number[];
  /** Wall clock from the first timed call's start to the last one's end. */
  wallMs: number;
  /** Why there are fewer than minSamples, when there are. */
  short?: string;
}

/** Headers every request of the load generator carries (a server's credentials, from env). */
export const loadHeaders: Record<string, string> = {};

/**
 * Sequential timed calls of fn: at least minSamples, then until budgetMs of measured time, at most
 * maxSamples, never past capMs of wall clock. One untimed call first (connection set-up).
 * `pace` (calls per second), when set, spaces the calls: the --max-rps budget.
 */
export async function timeCalls(fn: () => Promise<unknown>, b: SampleBudget, pace?: number): Promise<Timed> {
  checkInterrupt();
  await fn();
  const ms: number[] = [];
  let measured = 0;
  const start = performance.now();
  for (;;) {
    checkInterrupt();
    const t = performance.now();
    await fn();
    const d = performance.now() - t;
    ms.push(d);
    measured += d;
    const n = ms.length;
    if (n >= b.maxSamples || (n >= b.minSamples && measured >= b.budgetMs)) break;
    if (performance.now() - start >= b.capMs) break;
    if (pace) {
      const next = start + (n * 1000) / pace;
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
  }
  const wallMs = performance.now() - start;
  const p50 = percentile([...ms].sort((x, y) => x - y), 0.5);
  const short = ms.length < b.minSamples ? `${ms.length} call${ms.length === 1 ? "" : "s"} of about ${p50.toFixed(1)} ms fit the ${(b.capMs / 1000).toFixed(0)} s cap of this figure (${b.minSamples} would take ${((b.minSamples * p50) / 1000).toFixed(0)} s)` : undefined;
  return { ms, wallMs, ...(short ? { short } : {}) };
}

/**
 * One time cap shared by a stage's figures (the log-batch sizes, the API figures): each figure
 * gets at least its own capMs, plus what the figures before it left unused. A cheap call that
 * reaches its samples early (log-batch of 1 metric) leaves time to the next one (10 metrics),
 * which then can reach 1000 samples within the same total as before.
 */
export class CapPool {
  private leftMs: number;
  private figuresLeft: number;

  constructor(private readonly b: SampleBudget, figures: number) {
    this.leftMs = b.capMs * figures;
    this.figuresLeft = figures;
  }

  /** The next figure's cap: its own, or its share of what is left if that is more. */
  capMs(): number {
    return Math.max(this.b.capMs, this.leftMs / Math.max(1, this.figuresLeft));
  }

  /** A figure took `wallMs`. */
  spent(wallMs: number): void {
    this.leftMs -= wallMs;
    this.figuresLeft--;
  }

  /** timeCalls under this figure's share of the pool. */
  async time(fn: () => Promise<unknown>, pace?: number): Promise<Timed> {
    const t = await timeCalls(fn, { ...this.b, capMs: this.capMs() }, pace);
    this.spent(t.wallMs);
    return t;
  }
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
