/** Verifying the runs of a manifest on a server by URL (W&B GraphQL, ClearML REST): read each, compare. */
import type { Manifest, ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { check, type Check } from "../../verify/check.ts";
import { compareRun, type CompareOptions } from "../../verify/compare.ts";
import { formatError } from "../../util/errors.ts";
import type { Verification } from "../types.ts";

export type Relations = (run: ManifestRun, obs: ObservedRun, byKey: Map<string, ManifestRun>, label: string | undefined) => Check[];

export async function verifyByUrl(
  manifest: Manifest,
  read: (run: ManifestRun) => Promise<ObservedRun>,
  opts: Omit<CompareOptions, "label">,
  relations?: Relations,
): Promise<Verification> {
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
      checks.push(check("run", `${p}exists`, false, `run ${run.runId} cannot be read: ${formatError(err)}`, run.runId, null));
      continue;
    }
    observed[run.key] = obs;
    checks.push(check("run", `${p}id`, obs.runId === run.runId, obs.runId === run.runId ? "run id matches" : "run id differs", run.runId, obs.runId));
    const compared = compareRun(run, obs, { ...opts, label });
    // An artifact the reader saw declared but could not fetch: say why, not just "missing".
    const unreadable = (obs.extra?.unreadable ?? {}) as Record<string, string>;
    for (const c of compared)
      if (c.group === "artifacts" && c.status === "fail" && unreadable[c.name.slice("artifacts.".length + p.length)])
        c.message = `${c.message}: ${unreadable[c.name.slice("artifacts.".length + p.length)]}`;
    checks.push(...compared);
    if (relations) checks.push(...relations(run, obs, byKey, label));
  }
  return { checks, observed };
}
