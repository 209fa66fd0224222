/**
 * A pre-migrated MLflow SQLite database kept in the user's cache, so a native server starts from
 * a copy instead of running MLflow's ~60 schema migrations (alembic) each time: about 1.3 s of
 * CPU on the critical path of every `run`. Each run still gets its own fresh database (a copy);
 * the server still checks the copy's schema revision against its own at start (`_verify_schema`).
 *
 * One entry per interpreter and MLflow version (the executable's path names the venv, whose key
 * is its requirements hash): built once by MLflow itself (`initialize_backend_stores`, what
 * `mlflow server` does on an empty database) under the cache's lock (src/util/cache-entry.ts),
 * published by rename with a marker that holds the file's hash. A copy that does not match its
 * marker (a damaged or altered entry) is rebuilt; a database that cannot be built is skipped with
 * a warning (the server then migrates its own, as before).
 */
import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureCacheEntry } from "../../util/cache-entry.ts";
import { sha256, sha256File } from "../../util/fs.ts";
import { cacheDir } from "../../util/paths.ts";
import { log } from "../../util/log.ts";
import { spawnManaged } from "../../runtime/process.ts";

export const DB_FILE = "mlflow.db";
const MARKER = "complete.json";

export interface SchemaCacheOptions {
  python: string;
  /** The MLflow version the interpreter's probe reported (part of the key). */
  mlflowVersion: string;
  /** Defaults to `<cache>/mlflow-db`. */
  cacheRoot?: string;
  timeoutMs?: number;
}

interface Marker {
  mlflow: string;
  sha256: string;
  size: number;
  builtAt: string;
}

/** The entry's key: the interpreter (its venv) and the MLflow version whose migrations made it. */
export function schemaKey(python: string, mlflowVersion: string): string {
  return sha256(JSON.stringify({ python, mlflow: mlflowVersion, layout: 1 })).slice(0, 16);
}

export function schemaEntryDir(o: SchemaCacheOptions): string {
  return join(o.cacheRoot ?? join(cacheDir(), "mlflow-db"), schemaKey(o.python, o.mlflowVersion));
}

/**
 * Whether `dir` holds a database that matches its marker. Re-hashing (about 1 MB) on every use
 * is what makes a damaged entry visible, not only a half-written one (that has no marker).
 */
async function entryMarker(dir: string): Promise<Marker | undefined> {
  const m = await readMarker(dir);
  if (!m) return undefined;
  const f = await sha256File(join(dir, DB_FILE)).catch(() => undefined);
  return f?.sha256 === m.sha256 && f.size === m.size ? m : undefined;
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MARKER), "utf8")) as Marker;
  } catch {
    return undefined; // none yet, or half-written
  }
}

// What `mlflow server` does on its backend store before it serves: create the tables and migrate
// them to head. The artifact root is the one a `--serve-artifacts` server resolves (the Default
// experiment's artifact location is stored from it), so the copy matches that server only.
const BUILD = `
import sys
from mlflow.server.handlers import initialize_backend_stores
from mlflow.utils.server_cli_utils import resolve_default_artifact_root
from mlflow.version import VERSION
uri = "sqlite:///" + sys.argv[1]
initialize_backend_stores(uri, uri, resolve_default_artifact_root(True, None, uri))
print("E2E_MLFLOW_VERSION=" + VERSION)
`;

async function build(o: SchemaCacheOptions, tmp: string): Promise<void> {
  const db = join(tmp, DB_FILE);
  const out = await runPython(o.python, ["-c", BUILD, db], tmp, o.timeoutMs ?? 180_000);
  const version = /E2E_MLFLOW_VERSION=(\S+)/.exec(out)?.[1];
  // The probe's record names the version in the key; a venv changed under it must not publish a
  // database migrated by another MLflow under that key.
  if (version !== o.mlflowVersion) throw new Error(`the interpreter has MLflow ${version ?? "?"}, its probe said ${o.mlflowVersion}`);
  const f = await sha256File(db);
  const marker: Marker = { mlflow: version, sha256: f.sha256, size: f.size, builtAt: new Date().toISOString() };
  await writeFile(join(tmp, MARKER), JSON.stringify(marker));
}

/** The cached database's folder, built by this process or another; undefined if it cannot be built. */
export async function ensureMigratedDb(o: SchemaCacheOptions): Promise<{ dir: string; how: "built" | "waited" | "found" } | undefined> {
  try {
    return await ensureCacheEntry({
      dir: schemaEntryDir(o),
      what: "the pre-migrated MLflow database",
      isComplete: async (d) => !!(await entryMarker(d)),
      build: (tmp) => build(o, tmp),
      onWait: (h, what) => log.info(`waiting for another e2e (pid ${h.pid}) making ${what}...`),
    });
  } catch (err) {
    log.warn(`MLflow's database is migrated by the server this time (the cached one could not be made: ${(err as Error).message.split("\n")[0]})`);
    return undefined;
  }
}

/**
 * Put a fresh copy of the cached database at `dest` (a run's own); false (nothing at `dest`) when
 * there is none to copy or the copy does not match its marker, so the server migrates its own.
 */
export async function seedMigratedDb(o: SchemaCacheOptions, dest: string): Promise<boolean> {
  const entry = await ensureMigratedDb(o);
  if (!entry) return false;
  // ensureMigratedDb just checked the entry against its marker; what counts now is the copy.
  const marker = await readMarker(entry.dir);
  if (marker) {
    await copyFile(join(entry.dir, DB_FILE), dest);
    // The copy itself is checked: the entry could be replaced or damaged between the two reads.
    const f = await sha256File(dest).catch(() => undefined);
    if (f?.sha256 === marker.sha256 && f.size === marker.size) return true;
  }
  await rm(dest, { force: true });
  log.warn(`the cached MLflow database in ${entry.dir} changed while it was copied; the server migrates its own this time`);
  return false;
}

/** The build as a managed process: stopped on Ctrl-C or at the deadline like any other child. */
async function runPython(python: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const lines: string[] = [];
  const logFile = join(cwd, "build.log");
  const proc = spawnManaged([python, ...args], { name: "MLflow database build", cwd, logFile, deathShim: python, onStdoutLine: (l) => lines.push(l) });
  const timer = setTimeout(() => void proc.stop(), timeoutMs);
  const code = await proc.exited.finally(() => clearTimeout(timer));
  if (code === 0) return lines.join("\n");
  const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ");
  throw new Error(`exit ${code}: ${tail}`);
}
