/**
 * Expected (manifest) against observed (what the backend holds): one comparator for every backend.
 * Params and tags must match exactly; every metric point must be there once, with the same step
 * and the same double; every artifact must have the same size and sha256.
 */
import type { ManifestRun, MetricPoint } from "./manifest.ts";
import type { ObservedPoint, ObservedRun } from "./observed.ts";
import { check, fail, pass, skip, type Check } from "./check.ts";
import { timestampVerdict, type TimestampRule, type TimestampsUnavailable } from "./timestamps.ts";
import { seriesOfManifest, seriesOfObserved, toNumber, type Series } from "./series.ts";
import { compareSeries, numbersEqual, type MetricVerdict, type Precision } from "./series-compare.ts";

export interface CompareOptions {
  /** Prefix for check names when a workflow has several runs ("trial-1"). */
  label?: string;
  /** "exact" for doubles; "float32" when the store keeps float32 (TensorBoard). */
  precision?: Precision;
  /** Whether this backend records the git commit/dirty state (skip, not fail, when it does not). */
  git?: { commit: boolean; branch: boolean; dirty: boolean };
  /** Tags the adapter set that this backend has no place for. */
  checkTags?: boolean;
  /** Said beside a failure where a non-finite value was changed: the backend's documented handling. */
  nonFiniteNote?: string;
  /** How a stored param is compared with the manifest's str(value); exact by default. */
  paramEquals?: (expected: string, actual: string | undefined) => boolean;
  /** How this backend keeps metric timestamps (timestamps.ts): a "timestamps" check per metric. */
  timestamps?: TimestampRule | TimestampsUnavailable;
}

/** For stores that keep typed values (W&B config): 1e-05 == "1e-05", true == "True". */
export function looseParamEquals(expected: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  if (expected === actual) return true;
  const lower = (s: string) => s.toLowerCase();
  if (["true", "false", "none", "null"].includes(lower(expected))) return lower(expected).replace("none", "null") === lower(actual).replace("none", "null");
  const e = Number(expected), a = Number(actual);
  return expected.trim() !== "" && !Number.isNaN(e) && e === a;
}

export function valuesEqual(expected: MetricPoint[1], actual: number | string, precision: Precision = "exact"): boolean {
  return numbersEqual(toNumber(expected), toNumber(actual), precision);
}

/** One metric's points against what the store holds (series-compare.ts has the rules). */
export function compareMetric(key: string, expected: MetricPoint[] | Series, observed: ObservedPoint[] | Series | undefined, precision: Precision = "exact"): MetricVerdict {
  const exp = seriesOfManifest(expected);
  if (!observed) return { ok: false, message: `metric ${key} is missing`, expected: `${exp.length} points`, actual: "absent" };
  return compareSeries(exp, seriesOfObserved(observed), precision).metric;
}

export function compareRun(exp: ManifestRun, obs: ObservedRun, opts: CompareOptions = {}): Check[] {
  const p = opts.label ? `${opts.label}:` : "";
  const checks: Check[] = [];
  for (const [k, v] of Object.entries(exp.params)) {
    const got = obs.params[k];
    const same = (opts.paramEquals ?? ((e, a) => e === a))(v, got);
    checks.push(check("params", `${p}${k}`, same, got === undefined ? `param ${k} is missing` : same ? "matches" : `param ${k} differs`, v, got));
  }
  if (opts.checkTags !== false)
    for (const [k, v] of Object.entries(exp.tags)) {
      const got = obs.tags[k];
      checks.push(check("tags", `${p}${k}`, got === v, got === undefined ? `tag ${k} is missing` : got === v ? "matches" : `tag ${k} differs`, v, got));
    }
  const rule = opts.timestamps && !("unavailable" in opts.timestamps) ? opts.timestamps : undefined;
  for (const [k, pts] of Object.entries(exp.metrics)) {
    const want = seriesOfManifest(pts);
    const got = obs.metrics[k];
    const have = got && seriesOfObserved(got);
    const r = have ? compareSeries(want, have, opts.precision, rule && have.length ? rule.toleranceMs : undefined) : { metric: compareMetric(k, want, undefined) };
    const nonFinite = !r.metric.ok && opts.nonFiniteNote && want.values.some((v) => !Number.isFinite(v));
    checks.push(check("metrics", `${p}${k}`, r.metric.ok, nonFinite ? `${r.metric.message} (${opts.nonFiniteNote})` : r.metric.message, r.metric.expected, r.metric.actual));
    if (rule && "timestamps" in r && r.timestamps) {
      const t = timestampVerdict(r.timestamps, rule);
      checks.push(check("timestamps", `${p}${k}`, t.ok, t.message, t.expected, t.actual));
    }
  }
  if (opts.timestamps && "unavailable" in opts.timestamps && Object.keys(exp.metrics).length)
    checks.push(skip("timestamps", `${p}read`, `timestamps not compared: ${opts.timestamps.unavailable}`));
  for (const a of exp.artifacts) {
    const got = obs.artifacts[a.path];
    const ok = !!got && got.size === a.size && got.sha256 === a.sha256;
    const msg = !got ? `artifact ${a.path} is missing` : ok ? `${a.size} bytes, sha256 matches` : got.size !== a.size ? `size ${got.size} != ${a.size}` : "sha256 differs";
    checks.push(check("artifacts", `${p}${a.path}`, ok, msg, { size: a.size, sha256: a.sha256 }, got));
  }
  if (exp.git) {
    const g = opts.git ?? { commit: true, branch: false, dirty: false };
    const og = obs.git ?? {};
    if (g.commit) checks.push(check("git", `${p}commit`, og.commit === exp.git.commit, og.commit ? (og.commit === exp.git.commit ? "commit matches" : "commit differs") : "no commit recorded", exp.git.commit, og.commit));
    else checks.push(skip("git", `${p}commit`, "this backend does not record the git commit"));
    if (g.branch && exp.git.branch) checks.push(check("git", `${p}branch`, og.branch === exp.git.branch, og.branch === exp.git.branch ? "branch matches" : "branch differs", exp.git.branch, og.branch));
    if (g.dirty) checks.push(check("git", `${p}dirty`, og.dirty === exp.git.dirty, og.dirty === exp.git.dirty ? `dirty=${exp.git.dirty} recorded` : "dirty state differs", exp.git.dirty, og.dirty));
  }
  if (exp.status === "FINISHED" && obs.status !== undefined)
    checks.push(check("run", `${p}status`, obs.status === "FINISHED", `status ${obs.status}`, "FINISHED", obs.status));
  return checks;
}

/** Verdict for a list of checks. */
export function summarize(checks: Check[]): { passed: number; failed: number; skipped: number } {
  return {
    passed: checks.filter((c) => c.status === "pass").length,
    failed: checks.filter((c) => c.status === "fail").length,
    skipped: checks.filter((c) => c.status === "skip").length,
  };
}
export { pass, fail };
