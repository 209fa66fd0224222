/** Verifying the runs of a manifest on a server by URL (W&B GraphQL, ClearML REST): read each, compare. */
import type { Manifest, ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import type { CompareOptions } from "../../verify/compare.ts";
import { verifyRuns, type Relations, type Verification } from "../../verify/verify-runs.ts";

export type { Relations };

export function verifyByUrl(
  manifest: Manifest,
  read: (run: ManifestRun) => Promise<ObservedRun>,
  compare: Omit<CompareOptions, "label"> | ((obs: ObservedRun) => Omit<CompareOptions, "label">),
  relations?: Relations,
): Promise<Verification> {
  return verifyRuns(manifest, read, { compare, relations, checkId: true });
}
