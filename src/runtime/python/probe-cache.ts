/**
 * Probe results kept beside what they describe, so a warm `run` or `doctor` imports nothing.
 * A record is valid while its key holds: the executable's path, the real file's size and mtime
 * (a base interpreter upgraded in place), the mtime of every folder on its sys.path (pip adding,
 * removing or replacing a package changes the folder it installs into) and the environment
 * variables that change what Python imports. Anything else changed: probed again.
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { writeFileAtomic } from "../../util/fs.ts";
import { probePython, type PythonInfo } from "./probe.ts";

/** Variables that change what `import x` finds (PYTHONSTARTUP only runs interactively). */
export const IMPORT_ENV = ["PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONSAFEPATH", "PYTHONPLATLIBDIR"] as const;

export interface ProbeKey {
  executable: string;
  real: { path: string; size: number; mtimeMs: number };
  env: Record<string, string>;
  /** sys.path folder -> mtimeMs (null: gone). */
  dirs: Record<string, number | null>;
}

interface ProbeRecord {
  v: 1;
  key: ProbeKey;
  info: PythonInfo;
}

export interface CachedProbe {
  info: PythonInfo;
  cached: boolean;
}

/** The import-relevant variables set in this process (isolated probes see none). */
export function importEnv(isolated = false): Record<string, string> {
  if (isolated) return {};
  const out: Record<string, string> = {};
  for (const k of IMPORT_ENV) if (process.env[k]) out[k] = process.env[k]!;
  return out;
}

export async function probeKey(executable: string, paths: string[], env: Record<string, string>): Promise<ProbeKey> {
  const path = await realpath(executable);
  const s = await stat(path);
  const mtimes = await Promise.all(paths.map((d) => stat(d).then((x) => x.mtimeMs, () => null)));
  const dirs = Object.fromEntries(paths.map((d, i) => [d, mtimes[i]!]));
  return { executable, real: { path, size: s.size, mtimeMs: s.mtimeMs }, env, dirs };
}

/** The recorded probe at `file` if its key still holds, else undefined. */
export async function readProbe(file: string, executable: string, env = importEnv()): Promise<PythonInfo | undefined> {
  let rec: ProbeRecord;
  try {
    rec = JSON.parse(await readFile(file, "utf8")) as ProbeRecord;
  } catch {
    return undefined;
  }
  if (rec.v !== 1 || rec.key?.executable !== executable) return undefined;
  const now = await probeKey(executable, Object.keys(rec.key.dirs), env).catch(() => undefined);
  return now && sameKey(rec.key, now) ? rec.info : undefined;
}

export async function probeRecordText(executable: string, info: PythonInfo, env = importEnv()): Promise<string> {
  const key = await probeKey(executable, info.paths ?? [], env);
  return JSON.stringify({ v: 1, key, info } satisfies ProbeRecord, null, 1);
}

export async function writeProbe(file: string, executable: string, info: PythonInfo, env = importEnv()): Promise<void> {
  await writeFileAtomic(file, await probeRecordText(executable, info, env));
}

/** The probe of `executable`: recorded if still valid, else run now and recorded when it worked. */
export async function cachedProbe(executable: string, file: string): Promise<CachedProbe | { error: string }> {
  const hit = await readProbe(file, executable);
  if (hit) return { info: hit, cached: true };
  const info = await probePython(executable);
  if ("error" in info) return info;
  // A module not installed is a fact the key covers (installing it changes a folder's mtime);
  // any other import error may come from outside the key (a sitecustomize edited in place), so
  // such a probe is asked again next time; so is any failure under import-changing variables
  // (a PYTHONPATH folder's files can change without its mtime changing).
  const stable = info.missing.every((m) => info.importErrors?.[m]?.startsWith("ModuleNotFoundError")) && (!info.missing.length || !Object.keys(importEnv()).length);
  if (stable) await writeProbe(file, executable, info).catch(() => {});
  return { info, cached: false };
}

function sameKey(a: ProbeKey, b: ProbeKey): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
