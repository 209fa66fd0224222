/**
 * TensorBoard export: the adapter mirrors every metric to event files; those are parsed here
 * (record framing with both CRCs) and every point compared at float32, the precision
 * TensorBoard stores. The backend holds the same points exactly (checked elsewhere), so a pass
 * here also cross-checks the event files against the backend.
 */
import { existsSync } from "node:fs";
import type { Manifest } from "./manifest.ts";
import { check, type Check } from "./check.ts";
import { compareMetric } from "./compare.ts";
import { eventDirOf, readEventSeries, type ScalarPoint } from "./tensorboard.ts";
import { isSeries, type Series } from "./series.ts";
import { formatError } from "../util/errors.ts";

export async function checkTensorboard(manifest: Manifest, workDir: string, keys?: (run: Manifest["runs"][number]) => string[], read?: Map<string, Record<string, Series>>): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of manifest.runs) {
    if (!run.tensorboardDir) continue;
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const dir = eventDirOf(run, workDir)!;
    if (!existsSync(dir)) {
      checks.push(check("tensorboard", `${label}files`, false, `no event files at ${dir}`, dir, null));
      continue;
    }
    let events: Record<string, Series>;
    try {
      // Parsed already by the backend's own checks (ClearML's capture): the same files, read once.
      events = read?.get(dir) ?? (await readEventSeries(dir, { wallTimes: false }));
    } catch (err) {
      checks.push(check("tensorboard", `${label}files`, false, `event files unreadable: ${formatError(err)}`, "valid records", null));
      continue;
    }
    checks.push(...compareTensorboardRun(run, events, (key) => `${label}${key}`, keys));
  }
  return checks;
}

/**
 * A run's manifest metrics against TensorBoard scalars (float32), one "tensorboard" check per key.
 * Shared by the local parse here and the backends' stored copies (MLflow's tensorboard/ artifacts),
 * so both judge the event files by one rule.
 */
export function compareTensorboardRun(
  run: Manifest["runs"][number],
  events: Record<string, ScalarPoint[] | Series>,
  name: (key: string) => string,
  keys?: (run: Manifest["runs"][number]) => string[],
  note = "",
): Check[] {
  const checks: Check[] = [];
  for (const key of keys ? keys(run) : Object.keys(run.metrics)) {
    const pts = run.metrics[key];
    if (!pts) continue;
    const got = events[key];
    const r = compareMetric(key, pts, got && (isSeries(got) ? got : got.map((e) => ({ step: e.step, value: e.value }))), "float32");
    checks.push(check("tensorboard", name(key), r.ok, `${r.message}${note}`, r.expected, r.actual));
  }
  return checks;
}
