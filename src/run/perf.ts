/**
 * The `perf` section of a run's result: where the time went, so the next slow part shows and a
 * regression shows in CI. Read from what the run already measured; no timing of its own except
 * the probe and the reports, which the caller passes in.
 */
import type { WorkflowPhase } from "../verify/manifest.ts";

export interface RunPerf {
  /** Resolving the Python env: a recorded probe (ms), a fresh probe (s) or a venv build (min). */
  probeMs: number;
  probeCached: boolean;
  /** Writing the reports after each workflow (the final write of this document is not in it). */
  reportsMs: number;
  /** e2e's own peak resident memory over the run (its process only: not the workflows' Python). */
  peakRssBytes: number;
  backends: {
    backend: string;
    mode: string;
    startMs?: number;
    workflows: {
      workflow: string;
      variant?: string;
      /** The workflow process(es), spawn to exit. */
      durationMs: number;
      verifyMs?: number;
      /** e2e's peak resident memory up to the end of this workflow's verification. */
      peakRssBytes?: number;
      phases?: WorkflowPhase[];
      /** durationMs less the phases: after the tracker closed (SDK exit hooks, interpreter exit). */
      exitMs?: number;
    }[];
  }[];
}

/** What runPerf reads of each backend's result (structurally: result.ts imports this file). */
interface Timed {
  backend: string;
  mode: string;
  startMs?: number;
  workflows: { workflow: string; variant?: string; durationMs: number; verifyMs?: number; peakRssBytes?: number; phases?: WorkflowPhase[] }[];
}

export function runPerf(backends: Timed[], o: { probeMs: number; probeCached: boolean; reportsMs: number }): RunPerf {
  return {
    probeMs: Math.round(o.probeMs),
    probeCached: o.probeCached,
    reportsMs: Math.round(o.reportsMs),
    peakRssBytes: peakRssBytes(),
    backends: backends.map((b) => ({
      backend: b.backend,
      mode: b.mode,
      startMs: b.startMs,
      workflows: b.workflows.map((w) => ({ workflow: w.workflow, variant: w.variant, durationMs: w.durationMs, verifyMs: w.verifyMs, peakRssBytes: w.peakRssBytes, phases: w.phases, exitMs: exitMs(w) })),
    })),
  };
}

function exitMs(w: { durationMs: number; phases?: WorkflowPhase[] }): number | undefined {
  if (!w.phases?.length || w.phases.some((p) => p.startupMs === null)) return undefined;
  const inside = w.phases.reduce((n, p) => n + (p.startupMs ?? 0) + p.sdkStartMs + p.trainMs + p.sdkFinishMs, 0);
  return Math.max(0, Math.round(w.durationMs - inside));
}

/** The process's peak resident set so far (getrusage ru_maxrss: KiB on Linux, bytes on macOS). */
export function peakRssBytes(): number {
  const kb = process.resourceUsage().maxRSS;
  return process.platform === "darwin" ? kb : kb * 1024;
}
