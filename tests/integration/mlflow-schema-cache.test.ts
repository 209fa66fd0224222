/**
 * The pre-migrated MLflow database in the cache (src/backends/mlflow/schema-cache.ts), with the
 * real interpreter and MLflow: built once and reused while its key matches, a new one for another
 * interpreter (venv), none published for an MLflow that is not the probe's, rebuilt when the cached
 * copy is damaged or half-written, and a real server started from the copy.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, symlink, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { DB_FILE, ensureMigratedDb, schemaEntryDir, schemaKey, seedMigratedDb } from "../../src/backends/mlflow/schema-cache.ts";
import { startNativeMlflow } from "../../src/backends/mlflow/native.ts";
import { MlflowClient } from "../../src/backends/mlflow/client.ts";
import { setupPython } from "../helpers.ts";

let python = "";
let mlflowVersion = "";
let root = "";

beforeAll(async () => {
  python = setupPython();
  mlflowVersion = Bun.spawnSync([python, "-c", "import mlflow.version as v; print(v.VERSION)"]).stdout.toString().trim();
  root = await mkdtemp(join(tmpdir(), "e2e-schema-cache-"));
}, 1_200_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The schema revision and the Default experiment, read with SQLite itself. */
function schemaOf(file: string): { revision: string; defaultExperiment: string } {
  const db = new Database(file, { readonly: true });
  try {
    const rev = db.query("SELECT version_num FROM alembic_version").get() as { version_num: string };
    const exp = db.query("SELECT name FROM experiments WHERE experiment_id = 0").get() as { name: string };
    return { revision: rev.version_num, defaultExperiment: exp.name };
  } finally {
    db.close();
  }
}

test("the key names the interpreter and the MLflow version", () => {
  expect(schemaKey("/a/bin/python", "3.17.2")).toBe(schemaKey("/a/bin/python", "3.17.2"));
  expect(schemaKey("/a/bin/python", "3.17.2")).not.toBe(schemaKey("/a/bin/python", "3.17.3"));
  expect(schemaKey("/a/bin/python", "3.17.2")).not.toBe(schemaKey("/b/bin/python", "3.17.2"));
});

test("built once, then reused while the key matches; another interpreter gets its own", async () => {
  const o = { python, mlflowVersion, cacheRoot: join(root, "reuse") };
  const first = await ensureMigratedDb(o);
  expect(first?.how).toBe("built");
  const built = await readFile(join(first!.dir, "complete.json"), "utf8");
  const again = await ensureMigratedDb(o);
  expect(again).toEqual({ dir: first!.dir, how: "found" });
  expect(await readFile(join(first!.dir, "complete.json"), "utf8")).toBe(built);
  expect(schemaOf(join(first!.dir, DB_FILE)).defaultExperiment).toBe("Default");

  // A copy is the run's own: writing to it leaves the cached one as it was.
  const dest = join(root, "run.db");
  expect(await seedMigratedDb(o, dest)).toBe(true);
  new Database(dest).run("UPDATE experiments SET name = 'changed' WHERE experiment_id = 0");
  expect(schemaOf(join(first!.dir, DB_FILE)).defaultExperiment).toBe("Default");

  // Another venv (another executable path) is another key: built anew, not the first one's.
  const otherVenv = join(root, "other-venv");
  await symlink(dirname(dirname(python)), otherVenv);
  const second = await ensureMigratedDb({ ...o, python: join(otherVenv, "bin", basename(python)) });
  expect(second?.how).toBe("built");
  expect(second!.dir).not.toBe(first!.dir);
  expect(schemaOf(join(second!.dir, DB_FILE)).revision).toBe(schemaOf(join(first!.dir, DB_FILE)).revision);
}, 300_000);

test("an MLflow that is not the probe's publishes nothing: the server migrates its own", async () => {
  const o = { python, mlflowVersion: "0.0.1", cacheRoot: join(root, "version") };
  const dest = join(root, "version.db");
  expect(await seedMigratedDb(o, dest)).toBe(false);
  expect(existsSync(dest)).toBe(false);
  expect(existsSync(schemaEntryDir(o))).toBe(false);
}, 300_000);

test("a damaged or half-written cached copy is rebuilt, and the run's copy is whole", async () => {
  const o = { python, mlflowVersion, cacheRoot: join(root, "damaged") };
  const first = await ensureMigratedDb(o);
  const cached = join(first!.dir, DB_FILE);
  const revision = schemaOf(cached).revision;

  // Damaged after it was published: same marker, other bytes.
  await writeFile(cached, "not a database");
  const dest = join(root, "damaged.db");
  expect(await seedMigratedDb(o, dest)).toBe(true);
  expect(schemaOf(dest).revision).toBe(revision);
  expect(schemaOf(cached).revision).toBe(revision);

  // Half-written (an older e2e killed mid-build): no marker, a truncated file.
  await unlink(join(first!.dir, "complete.json"));
  await truncate(cached, 4096);
  expect((await ensureMigratedDb(o))?.how).toBe("built");
  expect(schemaOf(cached).revision).toBe(revision);
}, 300_000);

test("a real server starts from the copy (no migration) and serves; a copy it cannot open fails clearly", async () => {
  const cacheRoot = join(root, "server");
  const work = join(root, "work");
  await Bun.write(join(work, ".keep"), "");
  const srv = await startNativeMlflow({ python, workDir: work, mlflowVersion, schemaCacheRoot: cacheRoot });
  try {
    const client = new MlflowClient(srv.url);
    const exp = await client.createExperiment("schema-cache");
    const run = await client.createRun(exp, "r");
    await client.logBatch(run, [{ key: "loss", value: 0.5, step: 1, timestamp: Date.now() }]);
    expect((await client.getMetricHistory(run, "loss")).map((m) => m.value)).toEqual([0.5]);
    const log = await readFile(srv.logFile, "utf8");
    expect(log).not.toContain("Creating initial MLflow database tables");
  } finally {
    await srv.stop();
  }
  // A cached entry that matches its marker but is no database (altered by hand): the server
  // cannot start, and the error names the cached folder to remove.
  const dir = schemaEntryDir({ python, mlflowVersion, cacheRoot });
  const junk = "not a database, but the marker agrees";
  await writeFile(join(dir, DB_FILE), junk);
  const marker = JSON.parse(await readFile(join(dir, "complete.json"), "utf8"));
  const hash = new Bun.CryptoHasher("sha256").update(junk).digest("hex");
  await writeFile(join(dir, "complete.json"), JSON.stringify({ ...marker, sha256: hash, size: junk.length }));
  const work2 = join(root, "work2");
  await Bun.write(join(work2, ".keep"), "");
  const err = await startNativeMlflow({ python, workDir: work2, mlflowVersion, schemaCacheRoot: cacheRoot, timeoutMs: 60_000 }).then(
    () => undefined,
    (e: Error & { hint?: string }) => e,
  );
  expect(err?.message).toContain("MLflow server did not start");
  expect(String(err?.hint)).toContain(dir);
}, 600_000);

test("two runs at once on an empty cache: one builds, the other waits and uses it", async () => {
  const o = { python, mlflowVersion, cacheRoot: join(root, "race") };
  const [a, b] = await Promise.all([ensureMigratedDb(o), ensureMigratedDb(o)]);
  expect([a?.how, b?.how].sort()).toEqual(["built", "waited"]);
  expect(a?.dir).toBe(b?.dir);
  const [da, db] = [join(root, "race-a.db"), join(root, "race-b.db")];
  expect(await Promise.all([seedMigratedDb(o, da), seedMigratedDb(o, db)])).toEqual([true, true]);
  expect(schemaOf(da)).toEqual(schemaOf(db));
}, 300_000);
