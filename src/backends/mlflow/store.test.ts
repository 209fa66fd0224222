import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MlflowStore } from "./store.ts";
import { SeriesBuilder } from "../../verify/series.ts";

// MLflow 3.17's own DDL for the table (sqlite_master of a store its server migrated).
const DDL = `CREATE TABLE "metrics" ("key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL,
  run_uuid VARCHAR(32) NOT NULL, step BIGINT DEFAULT '0' NOT NULL, is_nan BOOLEAN DEFAULT '0' NOT NULL,
  CONSTRAINT metric_pk PRIMARY KEY ("key", timestamp, step, run_uuid, value, is_nan), CHECK (is_nan IN (0, 1)));
  CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid);
  CREATE INDEX index_metrics_run_uuid_key_step ON metrics (run_uuid, "key", step);`;

const dir = mkdtempSync(join(tmpdir(), "e2e-store-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function storeWith(rows: [key: string, value: number, timestamp: number, run: string, step: number, isNan: number][]): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
  const db = new Database(path);
  db.exec(DDL);
  const ins = db.prepare("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)");
  db.transaction(() => rows.forEach((r) => ins.run(...r)))();
  db.close();
  return path;
}

test("a key's points across pages, in get-history's order, NaN from is_nan, other runs and keys apart", () => {
  const n = 70_000; // past one page of 65,536 rows
  const rows: Parameters<typeof storeWith>[0] = [];
  for (let i = 1; i <= n; i++) rows.push(["loss", i === 5 ? 0 : i / 7, 1_000 + i, "r1", i, i === 5 ? 1 : 0]);
  rows.push(["loss", 1, 1_000, "r2", 1, 0], ["acc", 1, 1_000, "r1", 1, 0]);
  // Two values at one (timestamp, step): ordered by value, as MLflow's ORDER BY timestamp, step, value.
  rows.push(["two", 2, 50, "r1", 1, 0], ["two", 1, 50, "r1", 1, 0], ["two", 0, 40, "r1", 9, 0]);
  const s = new MlflowStore(storeWith(rows));
  try {
    expect(Object.fromEntries(s.counts("r1"))).toEqual({ loss: n, acc: 1, two: 3 });
    const { series, head, latest } = s.series("r1", "loss", { head: 3 });
    expect(series.length).toBe(n);
    expect(Number.isNaN(series.values[4]!)).toBe(true);
    for (const i of [0, 65_535, 65_536, n - 1]) expect([series.steps[i], series.values[i], series.timestamps[i]]).toEqual([i + 1, (i + 1) / 7, 1_001 + i]);
    expect(Array.from(head.steps)).toEqual([1, 2, 3]);
    expect(latest).toEqual({ step: n, timestamp: 1_000 + n, value: n / 7 });
    const two = s.series("r1", "two");
    expect(Array.from(two.series.steps)).toEqual([9, 1, 1]);
    expect(Array.from(two.series.values)).toEqual([0, 1, 2]);
    // MLflow's latest: the largest (step, timestamp, value), not the last in time.
    expect(two.latest).toEqual({ step: 9, timestamp: 40, value: 0 });
    expect(s.series("r1", "absent").series.length).toBe(0);
  } finally {
    s.close();
  }
});

test("points that repeat the manifest's columns share them; a changed one is read as stored", () => {
  const b = new SeriesBuilder(100);
  const rows: Parameters<typeof storeWith>[0] = [];
  for (let i = 1; i <= 100; i++) {
    b.push(i, i / 3, 10 * i);
    rows.push(["k", i === 50 ? 99 : i / 3, 10 * i, "r", i, 0]);
  }
  const like = b.finish();
  const s = new MlflowStore(storeWith(rows));
  try {
    const { series } = s.series("r", "k", { like });
    expect(series.values[49]).toBe(99);
    expect(series.values[48]).toBe(49 / 3);
    expect(series.length).toBe(100);
  } finally {
    s.close();
  }
});

test("keys from 100,000 points are read from the file; E2E_MLFLOW_STORE_MIN_POINTS changes that, a bad value is a usage error", async () => {
  const { storeRead, STORE_MIN_POINTS } = await import("./driver.ts");
  expect(STORE_MIN_POINTS).toBe(100_000);
  expect(storeRead("/w/mlflow.db", {}).minPoints).toBe(100_000);
  expect(storeRead("/w/mlflow.db", { E2E_MLFLOW_STORE_MIN_POINTS: "0" }).minPoints).toBe(0);
  expect(storeRead("/w/mlflow.db", { E2E_MLFLOW_STORE_MIN_POINTS: "" }).minPoints).toBe(100_000);
  for (const bad of ["2.5", "many", "-1"]) expect(() => storeRead("/w/mlflow.db", { E2E_MLFLOW_STORE_MIN_POINTS: bad })).toThrow(`E2E_MLFLOW_STORE_MIN_POINTS=${bad} is not a whole number of points`);
});
