import type { MetricPoint } from "../../verify/manifest.ts";

/**
 * MLflow stores identical (key, step, timestamp, value) points once: the SQL store's metrics
 * primary key is (key, timestamp, step, run_uuid, value, is_nan) and log_batch drops rows already
 * there (mlflow/store/tracking/sqlalchemy_store.py, _log_metrics). Two different values at one
 * step are both kept. mlflow.<flavor>.log_model sends the run's points at the model's step again,
 * linked to the model, which is the common case of such a repeat.
 */
export function collapseIdentical(points: MetricPoint[]): { points: MetricPoint[]; collapsed: number } {
  const seen = new Set<string>();
  const out: MetricPoint[] = [];
  for (const p of points) {
    const k = `${p[0]}\0${p[2]}\0${String(p[1])}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return { points: out, collapsed: points.length - out.length };
}

export const IDENTICAL_POINT_RULE = "MLflow stores identical (key, step, timestamp, value) points once";
