/**
 * The one loop every backend verifies with: read each run of the manifest (REST, GraphQL or the
 * offline files), compare it, add the backend's relation checks (parent run, group), and keep
 * what was read for the workflow-level checks.
 */
import type { Manifest, ManifestRun } from "./manifest.ts";
import type { ObservedRun } from "./observed.ts";
import type { Series } from "./series.ts";
import { check, type Check } from "./check.ts";
import { compareRun, type CompareOptions } from "./compare.ts";
import { formatError } from "../util/errors.ts";
import { descriptorOf } from "../backends/registry.ts";

export interface Verification {
  checks: Check[];
  /** Run key -> what the backend holds. */
  observed: Record<string, ObservedRun>;
  /**
   * TensorBoard event folders the backend's checks already parsed (absolute folder -> scalars by
   * tag, readEventSeries'), so the event-file check reads each folder no second time.
   */
  eventFiles?: Map<string, Record<string, Series>>;
}

export type Relations = (run: ManifestRun, obs: ObservedRun, byKey: Map<string, ManifestRun>, label: string | undefined) => Check[];

export interface VerifyRunsOptions {
  /** Options for the comparator, or a function of what was read (a field only some servers record). */
  compare: Omit<CompareOptions, "label"> | ((obs: ObservedRun) => Omit<CompareOptions, "label">);
  relations?: Relations;
  /** The check written when a run cannot be read (default: run.exists with the error). */
  readFailure?: (run: ManifestRun, err: unknown, prefix: string) => Check;
  /** Check that the id read back is the manifest's (readers that look runs up by path). */
  checkId?: boolean;
}

export async function verifyRuns(manifest: Manifest, read: (run: ManifestRun) => Promise<ObservedRun>, o: VerifyRunsOptions): Promise<Verification> {
  const checks: Check[] = [];
  const observed: Verification["observed"] = {};
  const byKey = new Map(manifest.runs.map((r) => [r.key, r]));
  for (const run of manifest.runs) {
    const label = manifest.runs.length > 1 ? run.key : undefined;
    const p = label ? `${label}:` : "";
    let obs: ObservedRun;
    try {
      obs = await read(run);
    } catch (err) {
      checks.push(o.readFailure?.(run, err, p) ?? check("run", `${p}exists`, false, `run ${run.runId} cannot be read: ${formatError(err)}`, run.runId, null));
      continue;
    }
    observed[run.key] = obs;
    if (o.checkId) checks.push(check("run", `${p}id`, obs.runId === run.runId, obs.runId === run.runId ? "run id matches" : "run id differs", run.runId, obs.runId));
    // Every backend's timestamps are judged by its rule unless its driver states another.
    const compared = compareRun(run, obs, { timestamps: descriptorOf(manifest.backend).timestamps, ...(typeof o.compare === "function" ? o.compare(obs) : o.compare), label });
    // An artifact the reader saw declared but could not fetch: say why, not just "missing".
    const unreadable = (obs.extra?.unreadable ?? {}) as Record<string, string>;
    for (const c of compared) {
      const why = c.group === "artifacts" && c.status === "fail" ? unreadable[c.name.slice("artifacts.".length + p.length)] : undefined;
      if (why) c.message = `${c.message}: ${why}`;
    }
    checks.push(...compared);
    if (o.relations) checks.push(...o.relations(run, obs, byKey, label));
  }
  return { checks, observed };
}
