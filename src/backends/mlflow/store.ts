/**
 * The points of a native MLflow run read from the server's own SQLite store (`mlflow.db` in the
 * work folder: e2e started `mlflow server --backend-store-uri sqlite:///...` on it), opened
 * read-only with bun:sqlite: what the backend holds, not the SDK under test. Used for large keys,
 * where REST is the bottleneck: the one-worker server serialises every point in Python (1e6
 * points took 43.7 s through metrics/get-history here, docs/benchmarks.md), while this reads
 * about a million rows a second. REST stays in the loop: the caller compares the first
 * get-history page and runs/get's latest value with the store's (rest-vs-store.ts).
 *
 * MLflow 3's `metrics` table (mlflow/store/tracking/dbmodels/models.py, SqlMetric): key, value
 * (float64; 0 where is_nan), timestamp, step, is_nan, run_uuid; primary key (key, timestamp, step,
 * run_uuid, value, is_nan), so identical points are stored once. Rows are read in get-history's
 * order (sqlalchemy_store.get_metric_history: ORDER BY timestamp, step, value), in pages by key
 * set (no OFFSET re-scan), straight into columns: memory is the columns plus one page of rows.
 */
import { Database } from "bun:sqlite";
import { gcPacer } from "../../util/gc-pace.ts";
import { SeriesBuilder, type Series } from "../../verify/series.ts";

/** The most recent point as MLflow ranks them for runs/get: the largest (step, timestamp, stored value). */
export interface LatestPoint {
  step: number;
  timestamp: number;
  value: number;
}

export interface StoreSeries {
  series: Series;
  /** The first `head` points in get-history's order (copies: compared with REST's first page). */
  head: Series;
  latest?: LatestPoint;
}

const PAGE = 65_536;

export class MlflowStore {
  private db: Database;
  constructor(readonly path: string) {
    this.db = new Database(path, { readonly: true });
    // The server may be writing another run: wait for its lock rather than fail.
    this.db.exec("PRAGMA busy_timeout = 20000");
  }

  /** Points per key of one run (the run_uuid, key, step index: no table scan). */
  counts(runId: string): Map<string, number> {
    const rows = this.db.query("SELECT key, count(*) AS n FROM metrics WHERE run_uuid = ? GROUP BY key").all(runId) as { key: string; n: number }[];
    return new Map(rows.map((r) => [r.key, r.n]));
  }

  /**
   * One key's points in get-history's order. `like`: the manifest's columns, so points that
   * repeat them cost only their time (SeriesBuilder). `head`: how many leading points to copy.
   */
  series(runId: string, key: string, o: { like?: Series; head?: number; capacity?: number } = {}): StoreSeries {
    const b = new SeriesBuilder(Math.max(1, o.like?.length ?? o.capacity ?? 1024), o.like ? { like: { series: o.like } } : {});
    const want = o.head ?? 0;
    const head = new SeriesBuilder(Math.max(1, want));
    // is_nan last: a NaN is stored as value 0, so (timestamp, step, value) alone may repeat.
    const cols = "step, value, timestamp, is_nan";
    const first = this.db.query(`SELECT ${cols} FROM metrics WHERE key = ?1 AND run_uuid = ?2 ORDER BY timestamp, step, value, is_nan LIMIT ${PAGE}`);
    const next = this.db.query(
      `SELECT ${cols} FROM metrics WHERE key = ?1 AND run_uuid = ?2 AND (timestamp, step, value, is_nan) > (?3, ?4, ?5, ?6) ORDER BY timestamp, step, value, is_nan LIMIT ${PAGE}`);
    let latest: (LatestPoint & { stored: number }) | undefined;
    const pace = gcPacer();
    let rows = first.values(key, runId) as [number, number, number, number][];
    for (;;) {
      for (const [step, stored, timestamp, isNan] of rows) {
        const value = isNan ? Number.NaN : stored;
        b.push(step, value, timestamp);
        if (head.length < want) head.push(step, value, timestamp);
        // sqlalchemy_store._update_latest_metrics_if_necessary: strictly greater (step, timestamp, value).
        if (!latest || step > latest.step || (step === latest.step && (timestamp > latest.timestamp || (timestamp === latest.timestamp && stored > latest.stored))))
          latest = { step, timestamp, value, stored };
      }
      pace(rows.length * 64);
      if (rows.length < PAGE) break;
      const [s, v, t, n] = rows[rows.length - 1]!;
      rows = next.values(key, runId, t, s, v, n) as [number, number, number, number][];
    }
    first.finalize();
    next.finalize();
    return { series: b.finish(), head: head.finish(), ...(latest ? { latest: { step: latest.step, timestamp: latest.timestamp, value: latest.value } } : {}) };
  }

  close(): void {
    this.db.close();
  }
}
