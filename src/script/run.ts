/**
 * Runs the user's script once, unmodified, in their folder, with the recorder on PYTHONPATH
 * (python/e2e_record: its sitecustomize installs the hooks in every Python process of the
 * run, torchrun ranks and children included) and the chosen backends' environment.
 *
 * SDKs the run did not choose are pointed into the work folder too (W&B and ClearML offline,
 * MLflow to a SQLite file), so a script that logs through another SDK neither writes into the
 * user's folder nor goes online; the records then say which SDK it used.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { spawnManaged } from "../runtime/process.ts";
import { writeFileAtomic } from "../util/fs.ts";
import type { ScriptSpec } from "./spec.ts";
import { mergeRecords, readRecords, type MergedRecords } from "./records.ts";

export interface ScriptRun {
  exitCode: number;
  timedOut: boolean;
  /** The deadline it ran under (--timeout), if any. */
  timeoutMs?: number;
  durationMs: number;
  logFile: string;
  recordDir: string;
  merged: MergedRecords;
}

export interface RunScriptOptions {
  spec: ScriptSpec;
  python: string;
  assetRoot: string;
  /** This run's folder: records, log, SDK homes. */
  workDir: string;
  /** The started backends' workflowEnv(), merged. */
  env: Record<string, string>;
  timeoutMs?: number;
}

// vcs_repo_detect_async and report_use_subprocess off: offline, they can hang close() for the
// 300 s repository-detection timeout (clearml 2.1.12; see python/e2e_track/backend_clearml.py).
const clearmlConf = (cache: string) => `sdk {
  storage.cache.default_base_dir: ${JSON.stringify(cache)}
  development {
    vcs_repo_detect_async: false
    report_use_subprocess: false
  }
}
`;

export async function scriptEnv(o: RunScriptOptions): Promise<Record<string, string>> {
  const w = o.workDir;
  const clearmlCache = o.env.CLEARML_CACHE_DIR ?? join(w, "clearml-cache");
  await mkdir(join(w, "clearml-home"), { recursive: true });
  await mkdir(join(w, "wandb"), { recursive: true });
  await writeFileAtomic(join(w, "clearml-home", "clearml.conf"), clearmlConf(clearmlCache));
  return {
    // Defaults for SDKs not chosen; a chosen backend's own settings override them.
    MLFLOW_TRACKING_URI: `sqlite:///${join(w, "unchosen-mlflow.db")}`,
    WANDB_MODE: "offline",
    WANDB_DIR: join(w, "wandb"),
    CLEARML_OFFLINE_MODE: "1",
    ...o.env,
    CLEARML_CACHE_DIR: clearmlCache,
    CLEARML_CONFIG_FILE: join(w, "clearml-home", "clearml.conf"),
    E2E_RECORD_CLEARML_HOME: join(w, "clearml-home"),
    WANDB_SILENT: "true",
    WANDB_CACHE_DIR: join(w, "wandb-home", "cache"),
    WANDB_DATA_DIR: join(w, "wandb-home", "data"),
    WANDB_CONFIG_DIR: join(w, "wandb-home", "config"),
    E2E_RECORD_DIR: join(w, "records"),
    PYTHONPATH: [join(o.assetRoot, "python", "e2e_record"), process.env.PYTHONPATH].filter(Boolean).join(":"),
    PATH: [dirname(o.python), process.env.PATH].filter(Boolean).join(":"),
    PYTHONUNBUFFERED: "1",
    MPLBACKEND: "Agg",
  };
}

export async function runScript(o: RunScriptOptions): Promise<ScriptRun> {
  await mkdir(o.workDir, { recursive: true });
  const env = await scriptEnv(o);
  const { spec } = o;
  const argv =
    spec.kind === "file"
      ? [o.python, spec.file!, ...spec.args]
      : ["/bin/sh", "-c", `${spec.command} "$@"`, "e2e-script", ...spec.args];
  const logFile = join(o.workDir, "script.log");
  const started = Date.now();
  const proc = spawnManaged(argv, { name: `script ${spec.display}`, cwd: spec.cwd, logFile, deathShim: o.python, env });
  let timedOut = false;
  const timer = o.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        void proc.stop(10_000); // SIGTERM first: each process writes its record
      }, o.timeoutMs)
    : undefined;
  const exitCode = await proc.exited;
  clearTimeout(timer);
  const { records, unreadable } = await readRecords(env.E2E_RECORD_DIR!);
  return { exitCode, timedOut, timeoutMs: o.timeoutMs, durationMs: Date.now() - started, logFile, recordDir: env.E2E_RECORD_DIR!, merged: mergeRecords(records, unreadable) };
}

export async function scriptLogTail(file: string, lines = 30): Promise<string> {
  return (await readFile(file, "utf8").catch(() => "")).trimEnd().split("\n").slice(-lines).join("\n");
}
