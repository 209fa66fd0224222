/**
 * Arguments -> a typed bench plan: which targets, and how much of each load (counts and time
 * budgets), for the quick smoke run and the full one. Pure; the estimate is what the full run
 * announces before it starts.
 */
import { BACKEND_NAMES, descriptorOf } from "../backends/registry.ts";
import type { BackendName } from "../verify/manifest.ts";
import { usageError } from "../util/errors.ts";
import { sayList } from "../util/words.ts";
import { parseThreshold } from "./baseline.ts";
import type { FleetPlan } from "./fleet.ts";
import type { SampleBudget } from "./load.ts";

export type Profile = "quick" | "full";
export type SdkTarget = { backend: "none" | BackendName; mode: "sync" | "async" | "buffered" | "offline" };

export interface BenchPlan {
  profile: Profile;
  backends: BackendName[];
  mlflowModes: ("native" | "docker")[];
  /** log-batch sizes (metrics per request), up to MLflow's limit of 1000. */
  batchSizes: number[];
  /** log-batch requests timed per batch size (mitata measure(), one request per sample). */
  batch: SampleBudget;
  artifactSizes: number[];
  /** Transfers per artifact size, at least: small sizes get more (artifactRepeatsFor). */
  artifactRepeats: number;
  /** Bytes each way per size that small sizes may fill with more transfers (0: artifactRepeats only). */
  artifactBytesPerSize: number;
  historySizes: number[];
  runCounts: number[];
  /** Per API-latency figure: at least minSamples, then until the time budget is spent, at most maxSamples. */
  api: SampleBudget;
  scale: { maxClients: number; stepSeconds: number; batch: number; budgetSeconds: number };
  /** The training-fleet load model (src/bench/fleet.ts). */
  fleet: FleetPlan;
  /** A server by URL (--url): measured in place, nothing started, everything created removed after. */
  url?: string;
  /** The secret's file for a server by URL (--api-key-file). */
  apiKeyFile?: string;
  /** Requests per second the sequential figures and the fleet may send (--max-rps). */
  maxRps?: number;
  /** A second native MLflow server with --no-serve-artifacts: artifact figures of a direct store beside the proxy's. */
  directArtifacts: boolean;
  /** Worker counts of the native MLflow server: the first gets the whole suite, the others the load figures (--workers). */
  workers: number[];
  /** Per SDK process: up to `steps` timed log calls and `blocks` overhead rounds, each phase cut at budgetSeconds (with a floor of samples). */
  sdk: { steps: number; keys: number; blocks: number; blockSteps: number; budgetSeconds: number };
  sdkTargets: SdkTarget[];
  python?: string;
  assets?: string;
  baseline?: string;
  maxRegression: number;
}

export interface BenchArgs {
  quick?: boolean;
  profile?: string;
  backend?: string;
  mode?: string;
  python?: string;
  assets?: string;
  baseline?: string;
  maxRegression?: string;
  url?: string;
  /** With --url: a file holding the secret (as `e2e run --api-key-file`). */
  apiKeyFile?: string;
  maxRps?: string;
  duration?: string;
  jobs?: string;
  metrics?: string;
  interval?: string;
  artifactEvery?: string;
  workers?: string;
  directArtifacts?: boolean;
}

function positive(text: string | undefined, flag: string, hint: string, integer = true): number | undefined {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw usageError(`${flag} ${text} is not a positive ${integer ? "integer" : "number"}`, hint);
  return n;
}

const KB = 1024;
const MB = 1024 * KB;
const BACKENDS = BACKEND_NAMES;
/** For --help, from the backend descriptors. */
const KEY_FILE_BACKENDS = BACKEND_NAMES.filter((b) => descriptorOf(b).credentials.file);
/** Each backend's credential variables, as --url reads them ("MLflow: A or B or C; ..."). */
const URL_CREDENTIALS = BACKEND_NAMES.map((b) => `${descriptorOf(b).title}: ${descriptorOf(b).credentials.env.join("/")}`).join("; ");
export const BENCH_HELP = {
  backends: BACKEND_NAMES.join(", "),
  urlBackends: sayList([...BACKEND_NAMES], "or"),
  keyFileBackends: sayList(KEY_FILE_BACKENDS, "or"),
  urlCredentials: URL_CREDENTIALS,
};
// The MLflow server modes bench can start itself (by URL is not a bench target).
const MODES = descriptorOf("mlflow").modes.filter((m): m is "native" | "docker" => m === "native" || m === "docker");

function list<T extends string>(text: string | undefined, valid: readonly T[], flag: string, dflt: T[]): T[] {
  if (!text) return dflt;
  if (text === "all") return [...valid];
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !valid.includes(s as T));
  if (bad.length) throw usageError(`${flag} ${bad.join(",")} is not known`, `use ${valid.join(", ")} or all`);
  return [...new Set(items)] as T[];
}

export function makeBenchPlan(a: BenchArgs): BenchPlan {
  if (a.profile && a.profile !== "quick" && a.profile !== "full") throw usageError(`--profile ${a.profile} is not known`, "use quick or full");
  const profile: Profile = a.quick || a.profile === "quick" ? "quick" : "full";
  let backends = list(a.backend, BACKENDS, "--backend", [...BACKENDS]);
  let mlflowModes = list(a.mode, MODES, "--mode", ["native"]);
  let url: string | undefined;
  if (a.url) {
    try {
      const u = new URL(a.url);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
      if (u.username || u.password) throw usageError("--url must not carry credentials", `set them in the environment (${URL_CREDENTIALS}) or, for ${BENCH_HELP.keyFileBackends}, pass --api-key-file FILE`);
    } catch (err) {
      if ((err as { exitCode?: number }).exitCode) throw err;
      throw usageError(`--url ${a.url} is not an http(s) URL`, "give the tracking server's base URL, e.g. http://mlflow.internal:5000");
    }
    if (!a.backend) throw usageError("--url needs --backend", `add --backend with the server's kind: ${sayList([...BACKENDS], "or")}`);
    if (backends.length !== 1) throw usageError(`--url measures one server; --backend ${a.backend} names ${backends.length}`, `name the server's kind: ${sayList([...BACKENDS], "or")}`);
    if (a.mode) throw usageError("--mode starts servers; it does not go with --url", "drop --mode");
    url = a.url.replace(/\/+$/, "");
    mlflowModes = [];
  }
  const maxRps = positive(a.maxRps, "--max-rps", "give requests per second, e.g. --max-rps 50", false);
  const duration = positive(a.duration, "--duration", "give seconds, e.g. --duration 120");
  const maxJobs = positive(a.jobs, "--jobs", "give the most simulated jobs, e.g. --jobs 64");
  const keys = positive(a.metrics, "--metrics", "give metrics per log call, e.g. --metrics 20");
  const interval = positive(a.interval, "--interval", "give milliseconds between a job's steps, e.g. --interval 100");
  const artifactEvery = a.artifactEvery === "0" ? 0 : positive(a.artifactEvery, "--artifact-every", "give steps between artifacts, e.g. --artifact-every 50, or 0 for none");
  const workers = a.workers ? a.workers.split(",").map((w) => positive(w.trim(), "--workers", "give worker counts, e.g. --workers 1,2,4")!) : [1];
  if (workers.some((w) => w > 16)) throw usageError(`--workers ${a.workers}: at most 16 workers`, "use e.g. --workers 1,2,4");
  if (a.workers && url) throw usageError("--workers starts servers; it does not go with --url", "drop --workers");
  if (a.directArtifacts && url) throw usageError("--direct-artifacts starts a server; it does not go with --url", "drop --direct-artifacts (a server by URL serves artifacts or not as it was started)");
  if (a.apiKeyFile && (!url || !KEY_FILE_BACKENDS.includes(backends[0]!)))
    throw usageError(`--api-key-file goes with --url and --backend ${BENCH_HELP.keyFileBackends}`, `other servers take their credentials from the environment (${URL_CREDENTIALS})`);
  if (keys !== undefined && keys > 1000) throw usageError(`--metrics ${keys} is over MLflow's 1000 metrics per log-batch`, "use 1000 or fewer");
  if (a.maxRegression && !a.baseline) throw usageError("--max-regression needs --baseline FILE", "add --baseline with an earlier result");
  const quick = profile === "quick";
  const sdkTargets: SdkTarget[] = url ? [] : [{ backend: "none", mode: "offline" }];
  if (!url && backends.includes("mlflow") && mlflowModes.includes("native"))
    sdkTargets.push({ backend: "mlflow", mode: "sync" }, { backend: "mlflow", mode: "async" }, { backend: "mlflow", mode: "buffered" });
  if (!url && backends.includes("wandb")) sdkTargets.push({ backend: "wandb", mode: "offline" });
  if (!url && backends.includes("clearml")) sdkTargets.push({ backend: "clearml", mode: "offline" });
  return {
    profile,
    backends,
    mlflowModes: backends.includes("mlflow") ? mlflowModes : [],
    batchSizes: [1, 10, 100, 1000],
    // 1000 requests per figure (a p99 of requests) unless the cap ends it first: then the figure
    // is flagged lowSamples and says why (calls of x ms fit the cap).
    batch: quick ? { minSamples: 1000, maxSamples: 1000, budgetMs: 0, capMs: 8000 } : { minSamples: 1000, maxSamples: 5000, budgetMs: 30_000, capMs: 90_000 },
    artifactSizes: quick ? [KB, 64 * KB, MB, 4 * MB] : [KB, 64 * KB, MB, 16 * MB, 64 * MB, 256 * MB],
    artifactRepeats: quick ? 3 : 5,
    // A user's server (--url) or a paced run gets artifactRepeats only: bounded in count.
    artifactBytesPerSize: url || maxRps ? 0 : quick ? 16 * MB : 64 * MB,
    historySizes: quick ? [1e3, 1e4, 1e5] : [1e3, 1e4, 1e5, 1e6],
    runCounts: quick ? [10, 100] : [10, 100, 1000],
    api: quick ? { minSamples: 1000, maxSamples: 1000, budgetMs: 0, capMs: 4000 } : { minSamples: 1000, maxSamples: 5000, budgetMs: 10_000, capMs: 60_000 },
    scale: quick ? { maxClients: 8, stepSeconds: 1.5, batch: 100, budgetSeconds: 20 } : { maxClients: 64, stepSeconds: 5, batch: 100, budgetSeconds: 120 },
    sdk: quick ? { steps: 1000, keys: 4, blocks: 10, blockSteps: 20, budgetSeconds: 6 } : { steps: 5000, keys: 4, blocks: 50, blockSteps: 40, budgetSeconds: 60 },
    fleet: {
      keys: keys ?? 20,
      intervalMs: interval ?? 100,
      artifactEvery: artifactEvery ?? 50,
      artifactBytes: 64 * KB,
      // At least 10 intervals per step: with fewer, the calls that fit a step (and so the sustained
      // rate) depend on where the jobs' phases fall.
      stepSeconds: Math.max(quick ? 3 : 10, (10 * (interval ?? 100)) / 1000),
      maxJobs: maxJobs ?? (quick ? 32 : 256),
      budgetSeconds: duration ?? (quick ? 30 : 240),
      p99LimitMs: interval ?? 100,
      errorRateLimit: 0.01,
      ...(maxRps ? { maxRps } : {}),
    },
    ...(url ? { url } : {}),
    ...(a.apiKeyFile ? { apiKeyFile: a.apiKeyFile } : {}),
    ...(maxRps ? { maxRps } : {}),
    workers: [...new Set(workers)],
    // Full: on; quick: only when asked (a second server start).
    directArtifacts: !url && backends.includes("mlflow") && mlflowModes.includes("native") && (a.directArtifacts ?? profile === "full"),
    sdkTargets,
    python: a.python,
    assets: a.assets,
    baseline: a.baseline,
    maxRegression: parseThreshold(a.maxRegression),
  };
}

/** Most transfers of one size: small bodies cost almost nothing, but each is a file on the server. */
export const MAX_ARTIFACT_REPEATS = 200;

/**
 * Transfers of one artifact size: artifactRepeats, or as many as fill artifactBytesPerSize, up to
 * MAX_ARTIFACT_REPEATS. Five 1 KB transfers said little (their interval spanned 2x) where 200 take
 * under a second even through MLflow's proxy.
 */
export function artifactRepeatsFor(p: Pick<BenchPlan, "artifactRepeats" | "artifactBytesPerSize">, size: number): number {
  return Math.max(p.artifactRepeats, Math.min(MAX_ARTIFACT_REPEATS, Math.floor(p.artifactBytesPerSize / Math.max(size, 1))));
}

/**
 * Seconds the plan should take on a 2-core box: start-ups, the HTTP suites per MLflow mode and
 * one Python process per SDK target. A guide for the person waiting, not a bound.
 */
export function estimateSeconds(p: BenchPlan): number {
  const perMode =
    10 + // server start (docker adds its own below)
    p.batchSizes.reduce((a, b) => a + Math.min(p.batch.capMs / 1000, Math.max(p.batch.budgetMs / 1000, p.batch.minSamples * (0.008 + b * 0.00035))), 0) + // log-batch requests
    p.artifactSizes.reduce((a, s) => a + artifactRepeatsFor(p, s) * (0.05 + (2 * s) / (150 * MB)), 0) +
    p.historySizes.reduce((a, n) => a + (n / 1000) * 0.2 + Math.min(p.api.capMs / 1000, Math.max(p.api.budgetMs / 1000, p.api.minSamples * n * 8e-5)), 0) + // filling and reading the history
    (p.historySizes.length + p.runCounts.length * 2) * (Math.min(p.api.capMs / 1000, Math.max(p.api.budgetMs / 1000, p.api.minSamples * 0.005)) + 0.3) + // the other API figures
    p.runCounts[p.runCounts.length - 1]! * 0.012 + // creating runs
    Math.min(p.scale.budgetSeconds, Math.log2(p.scale.maxClients) * p.scale.stepSeconds * 2) +
    Math.min(p.fleet.budgetSeconds, (Math.log2(p.fleet.maxJobs) + 1) * p.fleet.stepSeconds);
  const docker = p.mlflowModes.includes("docker") ? 45 : 0;
  // A process: imports and SDK start (~8 s), then at most two phases of budgetSeconds; MLflow's use both.
  const sdk = p.sdkTargets.reduce((a, t) => a + 8 + (t.backend === "mlflow" ? 2 * p.sdk.budgetSeconds : 4), 0);
  // Each extra worker count: a server start, log-batch, the client sweep and the fleet.
  const variant = 10 + p.batchSizes.length * (p.batch.capMs / 1000) + Math.min(p.scale.budgetSeconds, Math.log2(p.scale.maxClients) * p.scale.stepSeconds * 2) + Math.min(p.fleet.budgetSeconds, (Math.log2(p.fleet.maxJobs) + 1) * p.fleet.stepSeconds);
  const variants = p.mlflowModes.includes("native") ? (p.workers.length - 1) * variant : 0;
  const direct = p.directArtifacts ? 10 + p.artifactSizes.reduce((a, s) => a + artifactRepeatsFor(p, s) * (0.02 + (2 * s) / (500 * MB)), 0) : 0;
  return Math.round(5 + perMode * (p.mlflowModes.length + (p.url ? 1 : 0)) + variants + direct + docker + sdk + 5);
}
