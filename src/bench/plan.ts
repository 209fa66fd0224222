/**
 * Arguments -> a typed bench plan: which targets, and how much of each load (counts and time
 * budgets), for the quick smoke run and the full one. Pure; the estimate is what the full run
 * announces before it starts.
 */
import { usageError } from "../util/errors.ts";
import { parseThreshold } from "./baseline.ts";

export type Profile = "quick" | "full";
export type SdkTarget = { backend: "none" | "mlflow" | "wandb" | "clearml"; mode: "sync" | "async" | "buffered" | "offline" };

export interface BenchPlan {
  profile: Profile;
  backends: ("mlflow" | "wandb" | "clearml")[];
  mlflowModes: ("native" | "docker")[];
  /** log-batch sizes (metrics per request), up to MLflow's limit of 1000. */
  batchSizes: number[];
  /** Requests timed per batch size (mitata measure(), one request per sample). */
  batchSamples: number;
  artifactSizes: number[];
  artifactRepeats: number;
  historySizes: number[];
  runCounts: number[];
  /** Per API-latency figure: at least minSamples, then until the time budget is spent, at most maxSamples. */
  api: { minSamples: number; maxSamples: number; budgetMs: number };
  scale: { maxClients: number; stepSeconds: number; batch: number; budgetSeconds: number };
  sdk: { steps: number; keys: number; blocks: number; blockSteps: number };
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
}

const KB = 1024;
const MB = 1024 * KB;
const BACKENDS = ["mlflow", "wandb", "clearml"] as const;
const MODES = ["native", "docker"] as const;

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
  const backends = list(a.backend, BACKENDS, "--backend", [...BACKENDS]);
  const mlflowModes = list(a.mode, MODES, "--mode", ["native"]);
  if (a.maxRegression && !a.baseline) throw usageError("--max-regression needs --baseline FILE", "add --baseline with an earlier result");
  const quick = profile === "quick";
  const sdkTargets: SdkTarget[] = [{ backend: "none", mode: "offline" }];
  if (backends.includes("mlflow") && mlflowModes.includes("native"))
    sdkTargets.push({ backend: "mlflow", mode: "sync" }, { backend: "mlflow", mode: "async" }, { backend: "mlflow", mode: "buffered" });
  if (backends.includes("wandb")) sdkTargets.push({ backend: "wandb", mode: "offline" });
  if (backends.includes("clearml")) sdkTargets.push({ backend: "clearml", mode: "offline" });
  return {
    profile,
    backends,
    mlflowModes: backends.includes("mlflow") ? mlflowModes : [],
    batchSizes: [1, 10, 100, 1000],
    batchSamples: quick ? 1000 : 2000,
    artifactSizes: quick ? [KB, 64 * KB, MB, 4 * MB] : [KB, 64 * KB, MB, 16 * MB, 64 * MB, 256 * MB],
    artifactRepeats: quick ? 3 : 5,
    historySizes: quick ? [1e3, 1e4, 1e5] : [1e3, 1e4, 1e5, 1e6],
    runCounts: quick ? [10, 100] : [10, 100, 1000],
    api: quick ? { minSamples: 20, maxSamples: 1000, budgetMs: 1500 } : { minSamples: 50, maxSamples: 2000, budgetMs: 10_000 },
    scale: quick ? { maxClients: 8, stepSeconds: 1.5, batch: 100, budgetSeconds: 20 } : { maxClients: 64, stepSeconds: 5, batch: 100, budgetSeconds: 120 },
    sdk: quick ? { steps: 1000, keys: 4, blocks: 10, blockSteps: 20 } : { steps: 5000, keys: 4, blocks: 50, blockSteps: 40 },
    sdkTargets,
    python: a.python,
    assets: a.assets,
    baseline: a.baseline,
    maxRegression: parseThreshold(a.maxRegression),
  };
}

/**
 * Seconds the plan should take on a 2-core box: start-ups, the HTTP suites per MLflow mode and
 * one Python process per SDK target. A guide for the person waiting, not a bound.
 */
export function estimateSeconds(p: BenchPlan): number {
  const quick = p.profile === "quick";
  const perMode =
    10 + // server start (docker adds its own below)
    p.batchSizes.length * p.batchSamples * 0.006 + // log-batch requests
    p.artifactSizes.reduce((a, s) => a + p.artifactRepeats * (0.05 + (2 * s) / (150 * MB)), 0) +
    p.historySizes.reduce((a, n) => a + n / 1000 * 0.15, 0) + // filling the history
    (p.historySizes.length + p.runCounts.length) * 3 * (p.api.budgetMs / 1000 + 0.3) + // API figures
    p.runCounts[p.runCounts.length - 1]! * 0.012 + // creating runs
    Math.min(p.scale.budgetSeconds, Math.log2(p.scale.maxClients) * p.scale.stepSeconds * 2);
  const docker = p.mlflowModes.includes("docker") ? 45 : 0;
  const sdk = p.sdkTargets.length * (quick ? 10 : 25);
  return Math.round(5 + perMode * p.mlflowModes.length + docker + sdk + 5);
}
