/**
 * Every check can fail for the right reason. One small `e2e run --keep-work` per backend trains
 * once; then each row alters what the BACKEND holds (never the manifest): a metric row, a
 * timestamp, an artifact's bytes, a git tag, a stray run... and the kept folder is verified again
 * by the same code `e2e run` uses (src/verify/reverify.ts), without training again. Exactly the
 * row's checks must fail, every other check still pass; then the row's undo restores the data.
 *
 * Adding a row: push a Mutation onto ROWS (backend, kept workflow folder, the check names that must
 * fail, and apply() that alters the stored data and returns its undo). Backend helpers: W&B rows
 * rewrite the .wandb log / files/, ClearML rows edit the offline session zip.
 */
import { stepRange } from "../../src/verify/series.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runE2E, setupPython } from "../helpers.ts";
import { rewriteSession } from "../clearml-session.ts";
import { openKept, type KeptBackend } from "../../src/verify/reverify.ts";
import { useInterpreter } from "../../src/runtime/python/env.ts";
import type { BackendName, Manifest } from "../../src/verify/manifest.ts";
import { MlflowClient } from "../../src/backends/mlflow/client.ts";

type Undo = () => Promise<void> | void;

interface Kept {
  backend: KeptBackend;
  /** The backend's kept folder and the workflow's inside it. */
  dir: string;
  wf: string;
  manifest: Manifest;
  run(key?: string): Manifest["runs"][number];
}

interface Mutation {
  backend: BackendName;
  workflow: string;
  what: string;
  /** Exactly these checks fail (functions of the manifest where names depend on it). */
  fails: string[] | ((k: Kept) => string[]);
  apply(k: Kept): Promise<Undo>;
}

// --- MLflow: its SQLite store and artifact folder, under the native server's feet ---------------
function sql(k: Kept, statement: string, ...params: (string | number)[]): void {
  const db = new Database(join(k.dir, "mlflow.db"));
  try {
    db.exec("PRAGMA busy_timeout = 20000");
    db.query(statement).run(...params);
  } finally {
    db.close();
  }
}

function sqlRow<T>(k: Kept, statement: string, ...params: (string | number)[]): T {
  const db = new Database(join(k.dir, "mlflow.db"), { readonly: true });
  try {
    return db.query(statement).get(...params) as T;
  } finally {
    db.close();
  }
}

async function mlflowArtifact(k: Kept, runId: string, path: string): Promise<string> {
  const root = join(k.dir, "mlartifacts");
  for (const exp of await readdir(root)) {
    const f = join(root, exp, runId, "artifacts", path);
    if (existsSync(f)) return f;
  }
  throw new Error(`no stored ${path} for run ${runId} under ${root}`);
}

/** Flip one byte of a stored file; the undo writes the original back. */
async function flipByte(file: string): Promise<Undo> {
  const original = await readFile(file);
  const changed = Buffer.from(original);
  const at = Math.floor(changed.length / 2);
  changed[at] = changed[at]! ^ 0xff;
  await writeFile(file, changed);
  return () => writeFile(file, original);
}

async function deleteFile(file: string): Promise<Undo> {
  const original = await readFile(file);
  await rm(file);
  return () => writeFile(file, original);
}

interface MetricRow { key: string; value: number; timestamp: number; run_uuid: string; step: number; is_nan: number }

function deleteMetricRow(k: Kept, runId: string, key: string, step: number): Undo {
  const row = sqlRow<MetricRow>(k, "SELECT * FROM metrics WHERE run_uuid = ? AND key = ? AND step = ?", runId, key, step);
  if (!row) throw new Error(`no ${key}@${step} in run ${runId}`);
  sql(k, "DELETE FROM metrics WHERE run_uuid = ? AND key = ? AND step = ?", runId, key, step);
  return () => sql(k, "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", row.key, row.value, row.timestamp, row.run_uuid, row.step, row.is_nan);
}

function setTag(k: Kept, runId: string, key: string, value: string): Undo {
  const before = sqlRow<{ value: string }>(k, "SELECT value FROM tags WHERE run_uuid = ? AND key = ?", runId, key);
  if (!before) throw new Error(`run ${runId} has no tag ${key}`);
  sql(k, "UPDATE tags SET value = ? WHERE run_uuid = ? AND key = ?", value, runId, key);
  return () => sql(k, "UPDATE tags SET value = ? WHERE run_uuid = ? AND key = ?", before.value, runId, key);
}

/** Keys past 100 points read from mlflow.db (the driver's E2E_MLFLOW_STORE_MIN_POINTS); the undo restores. */
function fromStoreFile(): Undo {
  const before = process.env.E2E_MLFLOW_STORE_MIN_POINTS;
  process.env.E2E_MLFLOW_STORE_MIN_POINTS = "100";
  return () => {
    if (before === undefined) delete process.env.E2E_MLFLOW_STORE_MIN_POINTS;
    else process.env.E2E_MLFLOW_STORE_MIN_POINTS = before;
  };
}

/** A stored value changed in its last bit. */
function bumpValue(k: Kept, runId: string, key: string, step: number): Undo {
  const { value } = sqlRow<{ value: number }>(k, "SELECT value FROM metrics WHERE run_uuid = ? AND key = ? AND step = ?", runId, key, step);
  const bumped = new Float64Array([value]);
  new BigInt64Array(bumped.buffer)[0]! += 1n;
  sql(k, "UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = ? AND step = ?", bumped[0]!, runId, key, step);
  return () => sql(k, "UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = ? AND step = ?", value, runId, key, step);
}

const lastStep = (k: Kept, key: string, runKey = "main") => stepRange(k.run(runKey).metrics[key]!).max;

const ROWS: Mutation[] = [
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a metric row deleted", fails: ["metrics.loss"],
    apply: async (k) => deleteMetricRow(k, k.run().runId, "loss", 2),
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a timestamp shifted by 1 ms", fails: ["timestamps.loss"],
    apply: async (k) => {
      const id = k.run().runId;
      sql(k, "UPDATE metrics SET timestamp = timestamp + 1 WHERE run_uuid = ? AND key = 'loss' AND step = 3", id);
      return () => sql(k, "UPDATE metrics SET timestamp = timestamp - 1 WHERE run_uuid = ? AND key = 'loss' AND step = 3", id);
    },
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a value changed in the last bit", fails: ["metrics.accuracy"],
    apply: async (k) => {
      const id = k.run().runId;
      const { value } = sqlRow<{ value: number }>(k, "SELECT value FROM metrics WHERE run_uuid = ? AND key = 'accuracy' AND step = 1", id);
      const bumped = new Float64Array([value]);
      new BigInt64Array(bumped.buffer)[0]! += 1n;
      sql(k, "UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = 'accuracy' AND step = 1", bumped[0]!, id);
      return () => sql(k, "UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = 'accuracy' AND step = 1", value, id);
    },
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a byte of the stored checkpoint flipped", fails: ["artifacts.checkpoints/model.pt"],
    apply: async (k) => flipByte(await mlflowArtifact(k, k.run().runId, "checkpoints/model.pt")),
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "the stored figure removed", fails: ["artifacts.plots/loss.png", "visualization.figure"],
    apply: async (k) => deleteFile(await mlflowArtifact(k, k.run().runId, "plots/loss.png")),
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a byte of the TensorBoard event file stored with the run flipped", fails: ["tensorboard.from-mlflow:files"],
    apply: async (k) => {
      const dir = await mlflowArtifact(k, k.run().runId, "tensorboard");
      const file = (await readdir(dir, { recursive: true })).find((f) => f.includes("tfevents"));
      if (!file) throw new Error(`no event file under ${dir}`);
      return flipByte(join(dir, file));
    },
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "the git commit tag changed", fails: ["git.commit"],
    apply: async (k) => setTag(k, k.run().runId, "mlflow.source.git.commit", "0".repeat(40)),
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "the branch tag changed", fails: ["git.branch"],
    apply: async (k) => setTag(k, k.run().runId, "mlflow.source.git.branch", "other"),
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a param changed", fails: (k) => [`params.${Object.keys(k.run().params)[0]}`],
    apply: async (k) => {
      const id = k.run().runId;
      const key = Object.keys(k.run().params)[0]!;
      const { value } = sqlRow<{ value: string }>(k, "SELECT value FROM params WHERE run_uuid = ? AND key = ?", id, key);
      sql(k, "UPDATE params SET value = ? WHERE run_uuid = ? AND key = ?", `${value}0`, id, key);
      return () => sql(k, "UPDATE params SET value = ? WHERE run_uuid = ? AND key = ?", value, id, key);
    },
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "a tag changed", fails: ["tags.workflow"],
    apply: async (k) => setTag(k, k.run().runId, "workflow", "other"),
  },
  {
    backend: "mlflow", workflow: "cnn-clean", what: "the run's status changed", fails: ["run.status"],
    apply: async (k) => {
      const id = k.run().runId;
      sql(k, "UPDATE runs SET status = 'FAILED' WHERE run_uuid = ?", id);
      return () => sql(k, "UPDATE runs SET status = 'FINISHED' WHERE run_uuid = ?", id);
    },
  },
  {
    backend: "mlflow", workflow: "ddp-clean", what: "a stray run with the workflow's name in its experiment", fails: ["ddp.runs-in-backend"],
    apply: async (k) => {
      const client = MlflowClient.fromEnv(k.backend.backend.url!);
      const { info } = await client.getRun(k.run().runId);
      const stray = await client.createRun(info.experiment_id, info.run_name ?? k.run().name);
      return () => sql(k, "UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", stray);
    },
  },
  {
    backend: "mlflow", workflow: "ddp-clean", what: "a second rank's point at a step already logged", fails: ["metrics.loss", "ddp.continuity:loss"],
    apply: async (k) => {
      const id = k.run().runId;
      const row = sqlRow<MetricRow>(k, "SELECT * FROM metrics WHERE run_uuid = ? AND key = 'loss' AND step = 2", id);
      sql(k, "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", "loss", row.value + 1, row.timestamp, id, 2, 0);
      return () => sql(k, "DELETE FROM metrics WHERE run_uuid = ? AND key = 'loss' AND step = 2 AND value = ?", id, row.value + 1);
    },
  },
  {
    backend: "mlflow", workflow: "checkpoint-clean", what: "a byte of the checkpoint resumed from flipped",
    fails: (k) => [`artifacts.${resume(k).checkpoint}`, "resume.checkpoint-stored", "resume.loaded-from-backend"],
    apply: async (k) => flipByte(await mlflowArtifact(k, k.run().runId, resume(k).checkpoint)),
  },
  {
    backend: "mlflow", workflow: "checkpoint-clean", what: "the first resumed step's points deleted",
    fails: ["metrics.loss", "metrics.accuracy", "resume.continuity:loss", "resume.continuity:accuracy"],
    apply: async (k) => {
      const step = resume(k).stopStep + 1;
      const undo = [deleteMetricRow(k, k.run().runId, "loss", step), deleteMetricRow(k, k.run().runId, "accuracy", step)];
      return () => undo.forEach((u) => u());
    },
  },
  {
    backend: "mlflow", workflow: "scale-clean", what: "one point of thousands deleted", fails: ["metrics.series_1", "scale.points"],
    apply: async (k) => deleteMetricRow(k, k.run().runId, "series_1", 7),
  },
  // The same run's keys read from the server's store file (reader.ts, as for keys past 100,000
  // points): a value changed in mlflow.db changes what REST serves too; the series check fails.
  {
    backend: "mlflow", workflow: "scale-clean", what: "one point's value changed in mlflow.db, keys read from the store file", fails: ["metrics.series_2"],
    apply: async (k) => {
      const undo = [fromStoreFile(), bumpValue(k, k.run().runId, "series_2", 100)];
      return () => undo.forEach((u) => u());
    },
  },
  // runs/get serves latest_metrics, which the store file read does not: the store and REST disagree.
  {
    backend: "mlflow", workflow: "scale-clean", what: "runs/get's latest value of a key changed (REST disagrees with the store file)", fails: ["metrics.series_3"],
    apply: async (k) => {
      const id = k.run().runId;
      const { value } = sqlRow<{ value: number }>(k, "SELECT value FROM latest_metrics WHERE run_uuid = ? AND key = 'series_3'", id);
      const undo = fromStoreFile();
      sql(k, "UPDATE latest_metrics SET value = ? WHERE run_uuid = ? AND key = 'series_3'", value + 1, id);
      return () => {
        sql(k, "UPDATE latest_metrics SET value = ? WHERE run_uuid = ? AND key = 'series_3'", value, id);
        undo();
      };
    },
  },
  {
    backend: "mlflow", workflow: "sweep-clean", what: "the best trial's final score made the worst", fails: (k) => [`metrics.${best(k).key}:${best(k).metric}`, "sweep.best-trial"],
    apply: async (k) => {
      const { key, metric } = best(k);
      const id = k.run(key).runId;
      const step = lastStep(k, metric, key);
      const { value } = sqlRow<{ value: number }>(k, "SELECT value FROM metrics WHERE run_uuid = ? AND key = ? AND step = ?", id, metric, step);
      sql(k, "UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = ? AND step = ?", 1e9, id, metric, step);
      return () => sql(k, "UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = ? AND step = ?", value, id, metric, step);
    },
  },
  {
    backend: "mlflow", workflow: "sweep-clean", what: "the parent's best_trial tag changed", fails: ["tags.main:best_trial", "sweep.best-reported"],
    apply: async (k) => setTag(k, k.run("main").runId, "best_trial", "trial-x"),
  },
  {
    backend: "mlflow", workflow: "sweep-clean", what: "a trial moved out from under its parent", fails: ["runs.trial-1:parent"],
    apply: async (k) => setTag(k, k.run("trial-1").runId, "mlflow.parentRunId", k.run("trial-0").runId),
  },
];

// --- W&B offline: the run folders W&B wrote -------------------------------------------------------
const offlineDir = (k: Kept, key = "main") => join(k.dir, k.wf, k.run(key).offlinePath!);

ROWS.push(
  {
    backend: "wandb", workflow: "ddp-clean", what: "a stray run folder beside the workflow's (a rank that opened its own run)", fails: ["ddp.runs-in-backend"],
    apply: async (k) => {
      const stray = join(offlineDir(k), "..", "offline-run-20990101_000000-strayrun");
      await mkdir(stray);
      return () => rm(stray, { recursive: true, force: true });
    },
  },
  {
    backend: "wandb", workflow: "cnn-clean", what: "a byte of the figure W&B put in files/ flipped", fails: ["artifacts.plots/loss.png", "visualization.figure"],
    apply: async (k) => flipByte(join(offlineDir(k), "files", "plots", "loss.png")),
  },
);

// --- ClearML offline: the session zip ClearML wrote ----------------------------------------------
let pythonExe = "";

/** Rewrite the session zip in place with `edit` (tests/clearml-session.ts); the undo puts the original back. */
async function editZip(zip: string, edit: string): Promise<Undo> {
  const original = await readFile(zip);
  rewriteSession(pythonExe, zip, zip, edit);
  return () => writeFile(zip, original);
}

ROWS.push(
  {
    backend: "clearml", workflow: "cnn-clean", what: "a scalar event removed from the session", fails: ["metrics.loss"],
    apply: async (k) => editZip(offlineDir(k), `
b = events("metrics.jsonl")
b = [[e for e in batch if not (e.get("metric") == "loss" and e.get("variant") == "loss" and e.get("iter") == 2)] for batch in b]
put_events("metrics.jsonl", b)`),
  },
  {
    backend: "clearml", workflow: "cnn-clean", what: "a byte of the stored checkpoint flipped inside the session", fails: ["artifacts.checkpoints/model.pt"],
    apply: async (k) => editZip(offlineDir(k), `
for name in [n for n in files if n.endswith("/model.pt")]:
    b = bytearray(files[name]); b[len(b) // 2] ^= 0xFF; files[name] = bytes(b)`),
  },
  {
    backend: "clearml", workflow: "ddp-clean", what: "a stray session beside the workflow's", fails: ["ddp.runs-in-backend"],
    apply: async (k) => {
      const stray = join(offlineDir(k), "..", "offline-strayrun.zip");
      await copyFile(offlineDir(k), stray);
      return () => rm(stray, { force: true });
    },
  },
);

const resume = (k: Kept) => k.manifest.facts!.resume as { checkpoint: string; stopStep: number };
const best = (k: Kept) => k.manifest.facts!.best as { key: string; metric: string };

// --- one training per backend, kept ------------------------------------------------------------
const BACKENDS = [...new Set(ROWS.map((r) => r.backend))];
const opened = new Map<BackendName, KeptBackend>();
let workDir = "";

beforeAll(async () => {
  const python = await useInterpreter(setupPython());
  pythonExe = python.python;
  const r = await runE2E(["run", "--backend", BACKENDS.join(","), "--workflow", "cnn,ddp,sweep,checkpoint,scale", "--size", "steps=6,stop_at=3,trials=2,points=2000", "--keep-work", "--json"], { timeoutMs: 30 * 60_000 });
  const doc = JSON.parse(r.stdout) as { workDir: string; status: string };
  workDir = doc.workDir;
  if (doc.status !== "passed") throw new Error(`the run to mutate did not pass (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  for (const b of BACKENDS) opened.set(b, await openKept(b, join(workDir, b), python, repoRoot));
}, 35 * 60_000);

afterAll(async () => {
  for (const k of opened.values()) await k.stop().catch(() => {});
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function kept(backend: BackendName, workflow: string): Promise<Kept> {
  const be = opened.get(backend)!;
  const dir = join(workDir, backend);
  const manifest = JSON.parse(await readFile(join(dir, workflow, "manifest.json"), "utf8")) as Manifest;
  const run = (key = "main") => {
    const r = manifest.runs.find((x) => x.key === key);
    if (!r) throw new Error(`no run ${key} in ${workflow}`);
    return r;
  };
  return { backend: be, dir, wf: workflow, manifest, run };
}

const failing = async (k: Kept) => (await k.backend.verify(k.wf)).filter((c) => c.status === "fail").map((c) => `${c.name}`).sort();

describe("mutations of the backend's data fail exactly their checks", () => {
  for (const [backend, workflow] of [...new Set(ROWS.map((r) => `${r.backend} ${r.workflow}`))].map((s) => s.split(" ") as [BackendName, string]))
    test(`${backend} ${workflow}: unaltered, every check passes`, async () => {
      expect(await failing(await kept(backend, workflow))).toEqual([]);
    }, 120_000);

  // Every check group a backend's data feeds has at least one row that makes it fail.
  test("every check group is covered by a mutation", async () => {
    const covered = new Set<string>();
    for (const row of ROWS) {
      const names = typeof row.fails === "function" ? row.fails(await kept(row.backend, row.workflow)) : row.fails;
      for (const n of names) covered.add(n.slice(0, n.indexOf(".")));
    }
    const groups = ["params", "tags", "metrics", "timestamps", "artifacts", "git", "run", "runs", "tensorboard", "visualization", "sweep", "resume", "ddp", "scale"];
    expect(groups.filter((g) => !covered.has(g))).toEqual([]);
  });

  // Which path read the points is said in each check: REST below the threshold, the file past it.
  test("mlflow scale-clean: the metric checks name where the points were read from", async () => {
    const k = await kept("mlflow", "scale-clean");
    const metrics = async () => (await k.backend.verify(k.wf)).filter((c) => c.group === "metrics");
    for (const c of await metrics()) expect(c.message).not.toContain("store file");
    // The server's event files are the local ones byte for byte: parsed once for both checks.
    const files = (await k.backend.verify(k.wf)).find((c) => c.name === "tensorboard.from-mlflow:files");
    expect(files?.message).toContain("byte for byte the local ones (sha256)");
    const undo = fromStoreFile();
    try {
      const checks = await metrics();
      expect(checks.length).toBe(4);
      for (const c of checks) {
        expect(c.status).toBe("pass");
        expect(c.message).toContain("points read from the server's store file mlflow.db; REST get-history's first 500 points and runs/get's latest value are the store's");
      }
    } finally {
      undo();
    }
  }, 120_000);

  for (const row of ROWS)
    test(`${row.backend} ${row.workflow}: ${row.what}`, async () => {
      const k = await kept(row.backend, row.workflow);
      const want = (typeof row.fails === "function" ? row.fails(k) : row.fails).sort();
      const undo = await row.apply(k);
      try {
        expect(await failing(k)).toEqual(want);
      } finally {
        await undo();
      }
      expect(await failing(k)).toEqual([]);
    }, 120_000);
});
