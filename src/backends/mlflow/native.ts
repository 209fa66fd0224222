/**
 * MLflow started natively: `mlflow server` with a SQLite store and served artifacts in the run's
 * work folder, on 127.0.0.1 and a free port, one worker (2-core boxes), its log kept beside.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { backendError } from "../../util/errors.ts";
import { assertPortFree, freePort } from "../../util/port.ts";
import { spawnManaged, type ManagedProcess } from "../../runtime/process.ts";
import { httpOk, waitFor } from "../../runtime/wait.ts";
import { ONE_PROCESS_MLFLOW } from "./one-process.ts";
import { DB_FILE, schemaEntryDir, seedMigratedDb } from "./schema-cache.ts";

export interface NativeMlflow {
  url: string;
  port: number;
  logFile: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface NativeMlflowOptions {
  python: string;
  workDir: string;
  port?: number;
  workers?: number;
  timeoutMs?: number;
  host?: string;
  /**
   * A directory clients write artifacts to themselves (`--no-serve-artifacts
   * --default-artifact-root DIR`) instead of the server's proxy (`--serve-artifacts`).
   */
  directArtifactRoot?: string;
  /**
   * The interpreter's MLflow version: the server then starts from a copy of a pre-migrated
   * database cached for it (./schema-cache.ts) instead of migrating an empty one. Served
   * artifacts only (the cached Default experiment's artifact location is that server's).
   */
  mlflowVersion?: string;
  /** Where the pre-migrated databases are cached (default: the user's e2e cache). */
  schemaCacheRoot?: string;
}

export async function startNativeMlflow(opts: NativeMlflowOptions): Promise<NativeMlflow> {
  const host = opts.host ?? "127.0.0.1";
  if (opts.port) await assertPortFree(opts.port);
  const port = opts.port ?? (await freePort());
  const logFile = join(opts.workDir, "mlflow-server.log");
  const db = join(opts.workDir, DB_FILE);
  const cache = { python: opts.python, mlflowVersion: opts.mlflowVersion ?? "", cacheRoot: opts.schemaCacheRoot };
  // A store already there (a kept work folder verified again: reverify.ts, the mutation suite) is
  // the one to serve: the cached empty database is copied only where there is none.
  const seeded = !!opts.mlflowVersion && !opts.directArtifactRoot && !existsSync(db) && (await seedMigratedDb(cache, db));
  const argv = [
    opts.python, "-c", ONE_PROCESS_MLFLOW, "mlflow", "server",
    "--backend-store-uri", `sqlite:///${db}`,
    ...(opts.directArtifactRoot
      ? ["--no-serve-artifacts", "--default-artifact-root", opts.directArtifactRoot]
      : ["--serve-artifacts", "--artifacts-destination", join(opts.workDir, "mlartifacts")]),
    "--host", host, "--port", String(port), "--workers", String(opts.workers ?? 1),
  ];
  const proc = spawnManaged(argv, {
    name: "mlflow server",
    cwd: opts.workDir,
    logFile,
    deathShim: opts.python,
    env: { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false", PYTHONUNBUFFERED: "1" },
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = await waitFor(() => httpOk(`${url}/health`), {
    timeoutMs: opts.timeoutMs ?? 90_000,
    abandon: proc.exited.then((c) => `mlflow server exited with code ${c}`),
  });
  if (!ready.ok) {
    await proc.stop();
    const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-20).join("\n");
    const inUse = /address already in use|Errno 98/i.test(tail);
    throw backendError(
      `MLflow server did not start: ${inUse ? `port ${port} is already in use` : ready.reason}`,
      inUse ? "pick another --port or leave it out"
        : seeded ? `read ${logFile}; it started from a copy of the cached database in ${schemaEntryDir(cache)}: remove that folder if the log blames the database`
        : `read ${logFile}`,
      tail,
    );
  }
  return { url, port, logFile, process: proc, stop: async () => void (await proc.stop()) };
}
