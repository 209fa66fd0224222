/**
 * The load generator, the same for MLflow and the loopback sink. Every call is timed on its own
 * with performance.now() and every sample is kept: no warm-up trimming beyond one discarded first
 * call, no outlier removal (mitata's measure() drops the slowest samples, so its max is not the
 * max; it is not used here).
 */
import { interrupted } from "../runtime/lifecycle.ts";
import { InterruptedError } from "../util/errors.ts";
import { describeFault } from "./faults.ts";
import { http1Request, usesHttp1, type Answer } from "./http1.ts";
import type { ScaleStep } from "./knee.ts";
import { percentile } from "./stats.ts";

/** A non-2xx answer: its status and body (MLflow's error JSON) for faults.ts. */
export class HttpError extends Error {
  constructor(readonly status: number, path: string, readonly data: string) {
    super("");
    this.message = `${describeFault(this)} (from ${path})`;
  }
}

/** One request of the load generator: the whole answer read, an HttpError unless 2xx. */
async function request(url: string, init: RequestInit = {}): Promise<ArrayBuffer> {
  const res = await fetch(url, { ...init, headers: { ...loadHeaders, ...(init.headers as Record<string, string> | undefined) } });
  const buf = await res.arrayBuffer();
  if (!res.ok) throw new HttpError(res.status, new URL(url).pathname, new TextDecoder().decode(buf.slice(0, 2000)));
  return buf;
}

/** POST a JSON body (already serialized), read the whole answer, throw unless 2xx. */
export async function postJson(url: string, body: string): Promise<void> {
  await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
}

export async function getOk(url: string): Promise<number> {
  return (await request(url)).byteLength;
}

/**
 * GET the whole body into memory (an artifact download), throw unless 2xx. `into`: a buffer the
 * caller allocated before the clock started and reuses; a body that fits lands in it, so the timed
 * region is the transfer, not the fresh allocation's page faults (fetch, where it is used, ignores it).
 */
export async function getBytes(url: string, into?: Uint8Array): Promise<Uint8Array> {
  const u = new URL(url);
  if (!usesHttp1(u)) return new Uint8Array(await request(url, { signal: AbortSignal.timeout(300_000) }));
  return answerOf(u, await http1Request(u, { method: "GET", headers: loadHeaders, into }));
}

/**
 * PUT a body (an artifact upload) and read the answer, throw unless 2xx. Plain http goes through
 * http1.ts: the body written on the kept socket with its Content-Length. Else (https, a proxy)
 * fetch, handed a stream of 1 MB views, also with its Content-Length, so the wire is the same (no
 * chunked encoding). Why views: Bun's fetch sends one large buffer slowly; measured side by side
 * against a sink that discards the body (load 12-14, median of 7): 256 MB at 458 MB/s as one
 * Uint8Array, 363 as a one-piece stream, 1,800-1,980 as a stream of 256 KB to 16 MB pieces.
 */
export async function putBytes(url: string, body: Uint8Array): Promise<void> {
  const u = new URL(url);
  const type = { "content-type": "application/octet-stream" };
  if (usesHttp1(u)) return void answerOf(u, await http1Request(u, { method: "PUT", body, headers: { ...loadHeaders, ...type } }));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let off = 0; off < body.length; off += UPLOAD_CHUNK) c.enqueue(body.subarray(off, off + UPLOAD_CHUNK));
      c.close();
    },
  });
  await request(url, { method: "PUT", body: stream, headers: { ...type, "content-length": String(body.length) }, signal: AbortSignal.timeout(300_000) });
}

/** Upload bodies handed to fetch go in pieces of this size (views of the body, not copies). */
export const UPLOAD_CHUNK = 1 << 20;

/** A 2xx answer's body, else the HttpError that fetch's path would have thrown. */
function answerOf(u: URL, a: Answer): Uint8Array {
  if (a.status < 200 || a.status > 299) throw new HttpError(a.status, u.pathname, new TextDecoder().decode(a.body.subarray(0, 2000)));
  return a.body;
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
  /** One per answered call, in call order, in milliseconds: all of them. */
  ms: number[];
  /** Wall clock from the first timed call's start to the last one's end. */
  wallMs: number;
  /** Why there are fewer than minSamples, when there are. */
  short?: string;
  /** Calls that failed: counted, not samples (the figure rests on the answered ones). */
  errors: number;
  /** The first failure, as faults.ts describes it. */
  firstError?: string;
}

/** Headers every request of the load generator carries (a server's credentials, from env). */
export const loadHeaders: Record<string, string> = {};

/** Failed calls in a row after which a figure gives up: the server is down, not busy. */
export const MAX_FAILS_IN_A_ROW = 5;

/**
 * Sequential timed calls of fn: at least minSamples, then until budgetMs of measured time, at most
 * maxSamples, never past capMs of wall clock. One untimed call first (connection set-up).
 * `pace` (calls per second), when set, spaces the calls: the --max-rps budget.
 * A failed call is counted (errors, firstError) and the figure goes on with the next one, so one
 * transient error costs one sample, not the figure; MAX_FAILS_IN_A_ROW failures in a row throw.
 */
export async function timeCalls(fn: () => Promise<unknown>, b: SampleBudget, pace?: number): Promise<Timed> {
  const ms: number[] = [];
  let errors = 0;
  let inARow = 0;
  let firstError: string | undefined;
  const failed = (err: unknown) => {
    if ((err as { exitCode?: number }).exitCode === 130) throw err;
    errors++;
    firstError ??= describeFault(err);
    if (++inARow >= MAX_FAILS_IN_A_ROW) throw Object.assign(new Error(`${inARow} calls in a row failed (${errors} of ${ms.length + errors} in all): ${describeFault(err)}`), { cause: err });
  };
  checkInterrupt();
  await fn().catch(failed);
  let measured = 0;
  const start = performance.now();
  for (let calls = 1; ; calls++) {
    checkInterrupt();
    const t = performance.now();
    try {
      await fn();
      const d = performance.now() - t;
      ms.push(d);
      measured += d;
      inARow = 0;
    } catch (err) {
      failed(err);
    }
    const n = ms.length;
    if (n >= b.maxSamples || (n >= b.minSamples && measured >= b.budgetMs)) break;
    if (performance.now() - start >= b.capMs) break;
    if (pace) {
      const next = start + (calls * 1000) / pace;
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
  }
  const wallMs = performance.now() - start;
  const p50 = percentile([...ms].sort((x, y) => x - y), 0.5);
  const short = ms.length < b.minSamples ? `${ms.length} call${ms.length === 1 ? "" : "s"} of about ${p50.toFixed(1)} ms fit the ${(b.capMs / 1000).toFixed(0)} s cap of this figure (${b.minSamples} would take ${((b.minSamples * p50) / 1000).toFixed(0)} s)` : undefined;
  return { ms, wallMs, errors, ...(short ? { short } : {}), ...(firstError ? { firstError } : {}) };
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
 * for `seconds`. Errors are counted, not thrown: a client that got one waits a moment and goes on
 * (one transient error is one failed call in the step's error rate), and gives up only after
 * MAX_FAILS_IN_A_ROW failures in a row (a server that refuses everything is not hammered).
 */
export async function closedLoop(clients: number, seconds: number, pointsPerRequest: number, request: (client: number, i: number) => Promise<void>): Promise<ScaleStep> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let inARow = 0;
      for (let i = 0; performance.now() < end && !interrupted(); i++) {
        const t = performance.now();
        try {
          await request(c, i);
          latencies.push(performance.now() - t);
          inARow = 0;
        } catch (err) {
          errors++;
          firstError ??= describeFault(err).slice(0, 200);
          if (++inARow >= MAX_FAILS_IN_A_ROW) return;
          await Bun.sleep(Math.min(100, Math.max(0, end - performance.now())));
        }
      }
    }),
  );
  checkInterrupt();
  const elapsed = (performance.now() - start) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  const calls = latencies.length + errors;
  return {
    clients,
    throughput: (latencies.length * pointsPerRequest) / elapsed,
    requests: latencies.length,
    errors,
    errorRate: calls ? errors / calls : 0,
    seconds: elapsed,
    p50Ms: percentile(sorted, 0.5) || 0,
    p99Ms: percentile(sorted, 0.99) || 0,
    ...(firstError ? { firstError } : {}),
  };
}
