/**
 * `e2e bench --url` for servers other than MLflow (W&B, ClearML): what each one offers the
 * command (its facts, its suite, its clean-up), and the small pieces their suites share: one
 * timed HTTP call that throws on anything but 2xx, sequential figures, the transfer figures and
 * the training-fleet figures, all from the same load model as MLflow's (load.ts, fleet.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import type { BackendName } from "../verify/manifest.ts";
import type { ServerInfo } from "./environment.ts";
import { fromSamples, type Figure, type Target } from "./figure.ts";
import { failures, fleetFigures, throughputFigure, type SuiteContext } from "./http-suite.ts";
import { CapPool, HttpError, timeCalls, type SampleBudget } from "./load.ts";
import { artifactRepeatsFor } from "./plan.ts";
import type { CleanupReport } from "./remote.ts";
import { sizeLabel } from "./sizes.ts";
import { backendError } from "../util/errors.ts";

export interface RemoteBench {
  /** "W&B", "ClearML". */
  title: string;
  target: Target;
  info: ServerInfo;
  /** Measure; everything created is recorded for clean(). */
  run(ctx: SuiteContext): Promise<void>;
  /** Remove what run() created (and what open created); safe to call twice. */
  clean(): Promise<CleanupReport>;
}

/** The header e2e's own test doubles (tests/doubles/) put on every answer. */
export const TEST_DOUBLE_HEADER = "x-e2e-test-double";

export async function openRemoteBench(backend: BackendName, url: string, keyFile?: string): Promise<RemoteBench> {
  if (backend === "wandb") return (await import("./remote-wandb.ts")).openWandbBench(url, keyFile);
  if (backend === "clearml") return (await import("./remote-clearml.ts")).openClearmlBench(url, keyFile);
  throw new Error(`no by-URL bench for ${backend}`);
}

/** One HTTP call; the body read to its end; anything but 2xx throws (status and the answer's start). */
export async function send(url: string, init: RequestInit): Promise<{ text: string; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new HttpError(res.status, new URL(url).pathname, text);
  return { text, headers: res.headers };
}

const why = (short?: string) => (short ? { lowSamplesWhy: short } : {});

/** A latency figure of sequential calls (api group), none trimmed. */
export async function latencyFigure(ctx: SuiteContext, name: string, budget: SampleBudget, call: () => Promise<unknown>, note: string, params: Record<string, string | number> = {}): Promise<Figure> {
  const t = await timeCalls(call, budget, ctx.pace);
  const f = fromSamples({ target: ctx.target, group: "api", name, params, unit: "ms", better: "smaller", note, ...why(t.short), ...failures(ctx, name, t) }, t.ms);
  ctx.figure(f);
  ctx.progress(`${name}: p50 ${f.value.toFixed(2)} ms (${t.ms.length} calls)`);
  return f;
}

/** Logging latency and points/s over wall clock at each batch size (one training step of K metrics per call). */
export async function loggingFigures(ctx: SuiteContext, name: string, note: string, logger: (keys: number) => Promise<(step: number) => Promise<unknown>>): Promise<void> {
  const pool = new CapPool(ctx.plan.batch, ctx.plan.batchSizes.length);
  for (const keys of ctx.plan.batchSizes) {
    try {
      const log = await logger(keys);
      let step = 0;
      const t = await pool.time(() => log(step++), ctx.pace);
      const spec = { target: ctx.target, group: "throughput", params: { batch: keys }, note, ...why(t.short), ...failures(ctx, `${name} ${keys}`, t) } as const;
      ctx.figure(fromSamples({ ...spec, name: `${name}.latency`, unit: "ms", better: "smaller" }, t.ms));
      ctx.figure(throughputFigure({ ...spec, name: `${name}.throughput`, unit: "points/s", better: "bigger", note: `${note}; sequential requests` }, t, keys));
      ctx.progress(`${name} x${keys}: ${t.ms.length} requests`);
    } catch (err) {
      ctx.error(`${name} ${keys}`, err);
    }
  }
}

const mbps = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);

/**
 * Uploads and downloads of each size: the clock covers the upload call(s) the backend needs and
 * the download until the last byte; the sha256 is checked after the clock stopped.
 */
export async function transferFigures(ctx: SuiteContext, note: string, up: (path: string, body: Uint8Array) => Promise<void>, down: (path: string) => Promise<Uint8Array>): Promise<void> {
  for (const size of ctx.plan.artifactSizes) {
    const body = randomBytes(size);
    const repeats = artifactRepeatsFor(ctx.plan, size);
    const ups: number[] = [];
    const downs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const path = `bench/${sizeLabel(size)}-${i}.bin`;
      let t = performance.now();
      await up(path, body);
      ups.push(mbps(size, performance.now() - t));
      t = performance.now();
      const got = await down(path);
      downs.push(mbps(size, performance.now() - t));
      const a = createHash("sha256").update(got).digest("hex");
      const b = createHash("sha256").update(body).digest("hex");
      if (a !== b) throw backendError(`${path}: downloaded ${got.length} bytes with sha256 ${a.slice(0, 12)}, uploaded ${size} with ${b.slice(0, 12)}`);
    }
    const spec = { target: ctx.target, group: "artifacts", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger", note, lowSamplesWhy: `${repeats} transfers per size: bounded by the bytes moved` } as const;
    ctx.figure(fromSamples({ ...spec, name: "http.artifact.upload" }, ups));
    ctx.figure(fromSamples({ ...spec, name: "http.artifact.download" }, downs));
    ctx.progress(`artifacts ${sizeLabel(size)}: ${repeats} up and down`);
  }
}

/** Runs `fn` over items, `width` at a time; failures are collected, not thrown. */
export async function eachLimited<T>(items: readonly T[], width: number, fn: (x: T) => Promise<void>, failed: (x: T, err: unknown) => void): Promise<number> {
  let ok = 0;
  for (let i = 0; i < items.length; i += width)
    await Promise.all(items.slice(i, i + width).map(async (x) => {
      try {
        await fn(x);
        ok++;
      } catch (err) {
        failed(x, err);
      }
    }));
  return ok;
}

/** The API budget, with a bound on calls that each create something the clean-up must delete. */
export const creating = (b: SampleBudget): SampleBudget => ({ ...b, minSamples: Math.min(b.minSamples, 1000), maxSamples: Math.min(b.maxSamples, 1000) });
