/**
 * The manifest: what a workflow says it logged, written by python/e2e_track as JSON.
 * It is the expectation every verifier compares a backend against. Python writes it
 * atomically (temp file + rename) when each run finishes, and again on crash with
 * what it had by then, so a partial run still has a truthful expectation.
 */
import type { Series } from "./series.ts";

export interface Manifest {
  schema: 1;
  backend: BackendName;
  workflow: string;
  /** Python, torch, CUDA and SDK versions as seen inside the training process. */
  environment: Record<string, string | boolean | number | null>;
  runs: ManifestRun[];
  /** Free-form facts a workflow reports for its own checks (best trial, resume step...). */
  facts?: Record<string, unknown>;
  /** Where each workflow process's time went (python/e2e_track/core.py Tracker.phases). */
  phases?: WorkflowPhase[];
}

export type BackendName = "mlflow" | "wandb" | "clearml";

export interface ManifestRun {
  /** Logical name inside the workflow: "main", "trial-0", "rank-0"... */
  key: string;
  /** The backend's own id: MLflow run id, W&B run id, ClearML task id. */
  runId: string;
  name: string;
  /** Key of the parent run (MLflow nested run, W&B group, ClearML parent task). */
  parent?: string;
  /** W&B group / ClearML project, where the backend has one. */
  group?: string;
  project?: string;
  experiment?: string;
  /** Params exactly as the adapter handed them to the SDK, stringified the way MLflow stores them. */
  params: Record<string, string>;
  tags: Record<string, string>;
  /**
   * metric key -> points in logging order: inline as JSON, or (a run past the adapter's inline
   * limit) columns read from `pointsFile` by manifest-load.ts.
   */
  metrics: Record<string, MetricPoint[] | Series>;
  /** Where a large run's points are (python/e2e_track/points.py), relative to the manifest. */
  pointsFile?: { path: string; keys: string[]; counts: number[] };
  artifacts: ManifestArtifact[];
  git?: { commit: string; branch?: string; dirty: boolean; remote?: string };
  /** Folder of TensorBoard event files mirrored by the adapter, relative to the work folder. */
  tensorboardDir?: string;
  /** ClearML: its TensorBoard binding was on; the title a tag without "/" got (null: the tag itself). */
  tensorboardCapture?: { bareTagTitle: string | null };
  /** For offline backends: where the SDK wrote its run (W&B run folder, ClearML session zip). */
  offlinePath?: string;
  /** W&B offline resume writes one run folder per process: all of them, in order. */
  offlinePaths?: string[];
  status: "FINISHED" | "FAILED" | "RUNNING";
  /** ClearML scripts: what the script handed over beyond params, scalars and files. */
  clearml?: import("../backends/clearml/expect.ts").ClearmlExpectations;
  /** W&B scripts: artifacts, media and summary the script handed over. */
  wandb?: import("../backends/wandb/expect.ts").WandbExpectations;
  /** W&B: the prefix of the history keys W&B's TensorBoard capture writes for this run ("<ns>/<tag>"). */
  tensorboardNamespace?: string;
  /** W&B: the history key that carries the step (default "step"; Lightning: "trainer/global_step"). */
  stepKey?: string;
  /** Models stored apart from the run (MLflow 3 LoggedModels) that this run created or output. */
  models?: ManifestModel[];
  /** Dataset inputs of the run (MLflow log_input). */
  datasets?: ManifestDataset[];
  /**
   * Metric key -> points logged more than once with the same (step, timestamp, value), counted once
   * in `metrics` because the backend stores them once (MLflow's SQL store).
   */
  collapsed?: Record<string, number>;
}

/** An MLflow 3 LoggedModel as the script's process created it. */
export interface ManifestModel {
  modelId: string;
  name?: string;
  /** The run that created it (source_run_id), if any. */
  sourceRunId?: string;
  /** Whether this run named it as an output (log_outputs), and at which step. */
  outputStep?: number;
  status?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, MetricPoint[]>;
  /** Every file uploaded from the model folder, as the process wrote it. */
  files: { path: string; size: number; sha256: string }[];
}

export interface ManifestDataset {
  name: string;
  digest: string;
  sourceType?: string;
  source?: string;
  schema?: string;
  profile?: string;
  /** The input's "mlflow.data.context" tag (train, eval...). */
  context?: string;
}

/** [step, value, timestamp in ms]. Value is a double; NaN/Infinity are written as strings. */
export type MetricPoint = [number, number | "NaN" | "Infinity" | "-Infinity", number];

export interface ManifestArtifact {
  /** Path inside the run's artifact store, with "/" separators. */
  path: string;
  size: number;
  sha256: string;
  /** "image" for figures and plots, "model" for checkpoints, "table" for logged tables, "file" otherwise. */
  kind: "image" | "model" | "table" | "file";
}

/** One workflow process (a resumed workflow has two), in milliseconds. */
export interface WorkflowPhase {
  phase: number;
  /** Spawn to the tracker: the interpreter, torch, the SDK and the workflow imported. */
  startupMs: number | null;
  sdkStartMs: number;
  /** Inside the SDK's logging calls (params, metrics, artifacts, tags); part of trainMs. */
  sdkLogMs: number;
  sdkFinishMs: number;
  /** The rest of the process after start-up, logging included. */
  trainMs: number;
}
