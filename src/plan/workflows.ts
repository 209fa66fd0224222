/**
 * The embedded workflows: how each is launched, in how many processes one after another
 * (phases: checkpoint stops and a new process resumes), and the sizes each profile gives it.
 */
export const WORKFLOWS = ["cnn", "lightning", "ddp", "sweep", "checkpoint", "scale", "edge"] as const;
export type WorkflowName = (typeof WORKFLOWS)[number];
/** What `all` and `--profile full` mean: every workflow but the opt-in probes. */
export const ALL_WORKFLOWS: WorkflowName[] = ["cnn", "lightning", "ddp", "sweep", "checkpoint", "scale"];
export type Profile = "quick" | "full";

export interface WorkflowSpec {
  description: string;
  /** "python": python train.py; "torchrun": python -m torch.distributed.run --standalone --nproc-per-node N train.py */
  launcher: "python" | "torchrun";
  /** Processes run one after another with E2E_PHASE=1..phases, continuing one manifest. */
  phases: number;
  sizes: Record<Profile, Record<string, number>>;
}

export const WORKFLOW_SPECS: Record<WorkflowName, WorkflowSpec> = {
  cnn: {
    description: "a small CNN on synthetic images: params, a metric per step, a checkpoint and a plot",
    launcher: "python",
    phases: 1,
    sizes: { quick: { steps: 30, batch_size: 16, image_size: 16, classes: 4 }, full: { steps: 300, batch_size: 64, image_size: 28, classes: 10 } },
  },
  lightning: {
    description: "a LightningModule and Trainer with the backend's Lightning integration and a TensorBoardLogger",
    launcher: "python",
    phases: 1,
    sizes: { quick: { steps: 40, batch_size: 16 }, full: { steps: 200, batch_size: 32 } },
  },
  ddp: {
    description: "DistributedDataParallel over torchrun (gloo on CPU, nccl on CUDA), two processes",
    launcher: "torchrun",
    phases: 1,
    sizes: { quick: { steps: 20, batch_size: 16, nproc: 2 }, full: { steps: 100, batch_size: 32, nproc: 2 } },
  },
  sweep: {
    description: "a hyperparameter search: trials grouped under one parent, best trial reported",
    launcher: "python",
    phases: 1,
    sizes: { quick: { trials: 3, steps: 10 }, full: { trials: 6, steps: 40 } },
  },
  checkpoint: {
    description: "train, checkpoint, stop; a new process loads the checkpoint from the backend and resumes the run",
    launcher: "python",
    phases: 2,
    sizes: { quick: { steps: 20, stop_at: 10 }, full: { steps: 100, stop_at: 50 } },
  },
  scale: {
    description: "metric logging at scale, every point verified exactly",
    launcher: "python",
    phases: 1,
    sizes: { quick: { points: 10_000, keys: 4 }, full: { points: 100_000, keys: 4 } },
  },
  edge: {
    description: "opt-in probe: NaN, infinities, extreme doubles, Unicode, long and odd keys; shows what a backend rejects or changes",
    launcher: "python",
    phases: 1,
    sizes: { quick: {}, full: {} },
  },
};

/** Deadline for one workflow process, generous for a 2-core box. */
export const TIMEOUT_MS: Record<Profile, number> = { quick: 300_000, full: 1_800_000 };

/** Time allowed per metric point a workflow is asked to log: 500 points/s, several times below the
 * slowest SDK measured on a loaded 2-core box (MLflow native ~2,300/s, W&B offline ~3,000/s with
 * its flush, ClearML offline ~4,800/s), so `--size points=10000000` gets hours, not 5 minutes. */
const MS_PER_POINT = 2;

/** A workflow process's deadline when --timeout is not given: the profile's, or longer where the
 * sizes ask for more points than the profile's deadline can log. */
export function workflowTimeoutMs(profile: Profile, sizes: Record<string, number>): number {
  const points = Number(sizes.points ?? 0);
  return Math.max(TIMEOUT_MS[profile], Number.isFinite(points) ? points * MS_PER_POINT : 0);
}

/** Git variants a workflow runs from: every workflow clean; dirty too for all in full, for cnn in quick. */
export function variantsFor(wf: WorkflowName, profile: Profile): ("clean" | "dirty")[] {
  return profile === "full" || wf === "cnn" ? ["clean", "dirty"] : ["clean"];
}
