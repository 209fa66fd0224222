/**
 * What each workflow promises beyond single values, judged from what the backend holds:
 * the sweep's best trial, the checkpoint's unbroken history, DDP's one coherent run,
 * the scale workflow's point count, and a figure stored for every workflow.
 */
import { observedPoints, stepRange, stepsOf } from "./series.ts";
import type { Manifest, ManifestRun } from "./manifest.ts";
import type { ObservedRun } from "./observed.ts";
import { check, type Check } from "./check.ts";

type Observed = Record<string, ObservedRun>;

/** Steps of every metric exactly first..last, each once. */
export function contiguous(steps: number[], first: number, last: number): { ok: boolean; gaps: number[]; dups: number[] } {
  const seen = new Map<number, number>();
  for (const s of steps) seen.set(s, (seen.get(s) ?? 0) + 1);
  const gaps: number[] = [];
  for (let s = first; s <= last; s++) if (!seen.has(s)) gaps.push(s);
  const dups = [...seen].filter(([s, n]) => n > 1 || s < first || s > last).map(([s]) => s);
  return { ok: !gaps.length && !dups.length, gaps, dups };
}

function continuity(group: string, run: ManifestRun, obs: ObservedRun | undefined, first: number, last: number): Check[] {
  if (!obs) return [check(group, `${run.key}:history`, false, "run not read from the backend")];
  return Object.keys(run.metrics).map((key) => {
    const r = contiguous(stepsOf(obs.metrics[key] ?? []), first, last);
    return check(group, `continuity:${key}`, r.ok, r.ok ? `steps ${first}..${last}, no gap, no duplicate` : `gaps ${r.gaps.slice(0, 5).join(",") || "-"}; duplicates ${r.dups.slice(0, 5).join(",") || "-"}`, { first, last }, { gaps: r.gaps.slice(0, 10), dups: r.dups.slice(0, 10) });
  });
}

const lastValue = (obs: ObservedRun | undefined, key: string) => {
  const pts = obs?.metrics[key];
  if (!pts?.length) return undefined;
  const v = [...observedPoints(pts)].sort((a, b) => a.step - b.step).at(-1)!.value;
  return typeof v === "string" ? Number(v) : v;
};

export function workflowChecks(manifest: Manifest, observed: Observed): Check[] {
  const checks: Check[] = [];
  const facts = (manifest.facts ?? {}) as Record<string, any>;
  const images = manifest.runs.flatMap((r) => r.artifacts.filter((a) => a.kind === "image").map((a) => ({ run: r, a })));
  const stored = images.filter(({ run, a }) => observed[run.key]?.artifacts[a.path]?.sha256 === a.sha256);
  checks.push(check("visualization", "figure", stored.length > 0, stored.length ? `${stored.length} figure(s) stored byte for byte` : "no figure stored", ">=1 image", stored.length));

  if (manifest.workflow === "sweep") {
    const best = facts.best as { key: string; metric: string; value: number } | undefined;
    const trials = manifest.runs.filter((r) => r.parent);
    const parent = manifest.runs.find((r) => !r.parent);
    checks.push(check("sweep", "trials", trials.length > 0 && trials.every((t) => observed[t.key]), `${trials.filter((t) => observed[t.key]).length}/${trials.length} trials read back`, trials.length, trials.filter((t) => observed[t.key]).length));
    if (best) {
      // The best trial by the backend's own numbers must be the one the workflow reported.
      const scored = trials.map((t) => ({ key: t.key, v: lastValue(observed[t.key], best.metric) })).filter((t) => t.v !== undefined) as { key: string; v: number }[];
      const argmin = scored.sort((a, b) => a.v - b.v)[0];
      checks.push(check("sweep", "best-trial", argmin?.key === best.key, argmin ? `best by the backend's ${best.metric}: ${argmin.key}` : "no trial scores", best.key, argmin?.key));
      if (parent) {
        const tag = observed[parent.key]?.tags.best_trial;
        checks.push(check("sweep", "best-reported", tag === best.key, tag ? `parent says best_trial=${tag}` : "parent has no best_trial tag", best.key, tag));
      }
    } else checks.push(check("sweep", "best-trial", false, "the workflow reported no best trial", "facts.best", null));
  }

  if (manifest.workflow === "checkpoint") checks.push(...resumeChecks(manifest, facts.resume as ResumeFacts | undefined, observed));

  if (manifest.workflow === "ddp") {
    const ddp = facts.ddp as { worldSize: number; loggingRanks: number[] } | undefined;
    const main = manifest.runs[0];
    checks.push(check("ddp", "one-run", manifest.runs.length === 1, `${manifest.runs.length} run(s) for ${ddp?.worldSize ?? "?"} ranks (ranks ${ddp?.loggingRanks?.join(",") ?? "?"} log)`, 1, manifest.runs.length));
    if (main) {
      const last = Math.max(...Object.values(main.metrics).map((p) => stepRange(p).max));
      const first = Math.min(...Object.values(main.metrics).map((p) => stepRange(p).min));
      checks.push(...continuity("ddp", main, observed[main.key], first, last));
      const ws = observed[main.key]?.params.world_size;
      checks.push(check("ddp", "world-size", ws !== undefined && Number(ws) === ddp?.worldSize, `world_size=${ws}`, ddp?.worldSize, ws));
    }
  }

  if (manifest.workflow === "edge") {
    const rejected = (facts.rejected ?? {}) as Record<string, string>;
    for (const [key, why] of Object.entries(rejected)) {
      const held = manifest.runs.some((r) => observed[r.key]?.metrics[key]?.length);
      checks.push(check("edge", `rejected:${key.length > 60 ? `${key.slice(0, 60)}…` : key}`, !held, held ? "the SDK refused it, yet the backend holds points for it" : `refused by the SDK and absent from the backend (${why})`, "absent", held ? "present" : "absent"));
    }
  }

  if (manifest.workflow === "scale") {
    const expected = manifest.runs.reduce((n, r) => n + Object.values(r.metrics).reduce((m, p) => m + p.length, 0), 0);
    const got = manifest.runs.reduce((n, r) => n + Object.values(observed[r.key]?.metrics ?? {}).reduce((m, p) => m + p.length, 0), 0);
    checks.push(check("scale", "points", got === expected && expected > 0, `${got} of ${expected} points stored`, expected, got));
  }
  return checks;
}

/**
 * What the checkpoint workflow reports (python/workflows/checkpoint.py), as facts.resume:
 * - checkpoint, checkpointSha256: the artifact path phase 1 logged and the sha256 of the bytes it
 *   handed the SDK (also in the manifest's artifacts);
 * - received: what phase 2, a new process, got back from the backend (Run.fetch_artifact):
 *   source "backend-api" (an SDK or server API returned the bytes: MLflow download_artifacts,
 *   ClearML get_local_copy, W&B use_artifact(...).download()) or "offline-store" (read from the
 *   SDK's offline files with no API between); api names the call; sha256 and size of the bytes.
 * The verdict is taken here, against what the backend holds as read by its reader: the reader
 * must expose the stored checkpoint as ObservedRun.artifacts[checkpoint] (for W&B Artifacts: the
 * artifact manifest entry's bytes under that same path). A backend helper changing how a
 * checkpoint is stored or fetched keeps this shape and sets Run.fetch_source in its adapter.
 */
export interface ResumeFacts {
  stopStep: number;
  resumeStep?: number;
  checkpoint: string;
  checkpointSha256: string;
  received?: { source: "backend-api" | "offline-store"; api: string; path: string; sha256: string; size: number };
}

function resumeChecks(manifest: Manifest, resume: ResumeFacts | undefined, observed: Observed): Check[] {
  const main = manifest.runs[0]!;
  if (!resume) return [check("resume", "facts", false, "the workflow reported no resume", "facts.resume", null)];
  const checks: Check[] = [];
  const last = Math.max(...Object.values(main.metrics).map((p) => stepRange(p).max));
  checks.push(...continuity("resume", main, observed[main.key], 1, last));
  checks.push(check("resume", "boundary", resume.resumeStep === resume.stopStep + 1, `stopped after ${resume.stopStep}, resumed at ${resume.resumeStep}`, resume.stopStep + 1, resume.resumeStep));
  const held = observed[main.key]?.artifacts[resume.checkpoint];
  const stored = held?.sha256 === resume.checkpointSha256;
  checks.push(check("resume", "checkpoint-stored", stored,
    !held ? `${resume.checkpoint} is not among the stored artifacts` : stored ? `${resume.checkpoint} is stored byte for byte (${held.size} bytes)` : `${resume.checkpoint} is stored with other bytes than were logged`,
    resume.checkpointSha256, held?.sha256 ?? null));
  const got = resume.received;
  const ok = !!got && !!held && got.sha256 === held.sha256 && got.size === held.size && got.sha256 === resume.checkpointSha256;
  const how = got ? `${got.source}${got.api ? `: ${got.api}` : ""}` : "";
  checks.push(check("resume", "loaded-from-backend", ok,
    !got ? "the new process reported no bytes received from the backend"
      : !held ? `the new process received ${got.size} bytes (${how}), but the backend holds no ${resume.checkpoint} to compare them with`
      : ok ? `the new process received ${got.size} bytes identical to what the backend holds (${how})`
      : `the bytes the new process received (${how}) differ from what the backend holds`,
    held ? { sha256: held.sha256, size: held.size } : null, got ? { sha256: got.sha256, size: got.size, source: got.source } : null));
  return checks;
}
