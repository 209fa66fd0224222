/**
 * Expected (manifest) against observed (what the backend holds): one comparator for every backend.
 * Params and tags must match exactly; every metric point must be there once, with the same step
 * and the same double; every artifact must have the same size and sha256.
 */
import type { ManifestRun, MetricPoint } from "./manifest.ts";
import type { ObservedPoint, ObservedRun } from "./observed.ts";
import { check, fail, pass, skip, type Check } from "./check.ts";
import { compareTimestamps, type TimestampRule, type TimestampsUnavailable } from "./timestamps.ts";

export interface CompareOptions {
  /** Prefix for check names when a workflow has several runs ("trial-1"). */
  label?: string;
  /** "exact" for doubles; "float32" when the store keeps float32 (TensorBoard). */
  precision?: "exact" | "float32";
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

const f32 = new Float32Array(1);
const toF32 = (x: number) => ((f32[0] = x), f32[0]!);

export function valuesEqual(expected: MetricPoint[1], actual: number | string, precision: "exact" | "float32" = "exact"): boolean {
  const e = typeof expected === "string" ? Number(expected) : expected;
  const a = typeof actual === "string" ? Number(actual) : actual;
  if (Number.isNaN(e)) return Number.isNaN(a);
  return precision === "float32" ? toF32(e) === toF32(a) : e === a;
}

export function compareMetric(key: string, expected: MetricPoint[], observed: ObservedPoint[] | undefined, precision: "exact" | "float32" = "exact"): { ok: boolean; message: string; expected: unknown; actual: unknown } {
  if (!observed) return { ok: false, message: `metric ${key} is missing`, expected: `${expected.length} points`, actual: "absent" };
  const byStep = new Map<number, ObservedPoint[]>();
  for (const p of observed) byStep.set(p.step, [...(byStep.get(p.step) ?? []), p]);
  const missing: number[] = [];
  const changed: { step: number; expected: unknown; actual: unknown }[] = [];
  const expSteps = new Map<number, MetricPoint[]>();
  for (const p of expected) expSteps.set(p[0], [...(expSteps.get(p[0]) ?? []), p]);
  for (const [step, pts] of expSteps) {
    const got = byStep.get(step) ?? [];
    if (got.length < pts.length) missing.push(step);
    // Several points at one step (two values logged at one step) match in any order: a store
    // returns them ordered by its own keys, not in logging order.
    const unused = [...got];
    const unmatched = pts.filter((p) => {
      const i = unused.findIndex((g) => valuesEqual(p[1], g.value, precision));
      if (i < 0) return true;
      unused.splice(i, 1);
      return false;
    });
    unmatched.forEach((p, i) => {
      const g = unused[i];
      if (g) changed.push({ step, expected: p[1], actual: g.value });
    });
  }
  const extra: number[] = [];
  for (const [step, got] of byStep) if (got.length > (expSteps.get(step)?.length ?? 0)) extra.push(step);
  const ok = !missing.length && !changed.length && !extra.length;
  const parts = [`${observed.length}/${expected.length} points`];
  if (missing.length) parts.push(`missing steps ${preview(missing)}`);
  if (extra.length) parts.push(`unexpected or duplicate steps ${preview(extra)}`);
  if (changed.length) parts.push(`changed values at steps ${preview(changed.map((c) => c.step))}`);
  return {
    ok,
    message: ok ? `all ${expected.length} points match${precision === "float32" ? " (float32)" : ""}` : parts.join("; "),
    expected: { points: expected.length, ...(changed[0] ? { firstChanged: changed[0].expected } : {}) },
    actual: { points: observed.length, ...(changed[0] ? { firstChanged: changed[0].actual } : {}), ...(missing.length ? { missing: missing.slice(0, 10) } : {}), ...(extra.length ? { extra: extra.slice(0, 10) } : {}) },
  };
}

const preview = (xs: number[]) => (xs.length > 5 ? `${xs.slice(0, 5).join(", ")} … (${xs.length})` : xs.join(", "));

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
  for (const [k, pts] of Object.entries(exp.metrics)) {
    const r = compareMetric(k, pts, obs.metrics[k], opts.precision);
    const nonFinite = !r.ok && opts.nonFiniteNote && pts.some((x) => typeof x[1] === "string");
    checks.push(check("metrics", `${p}${k}`, r.ok, nonFinite ? `${r.message} (${opts.nonFiniteNote})` : r.message, r.expected, r.actual));
    const got = obs.metrics[k];
    if (opts.timestamps && !("unavailable" in opts.timestamps) && got?.length) {
      const t = compareTimestamps(pts, got, opts.timestamps);
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
