/**
 * The Python environment the workflows run in: a venv in the cache keyed by the hash of the
 * pinned requirements, or an interpreter the user names with --python (GPU boxes already have
 * their own CUDA torch). The venv is a shared cache entry (src/util/cache-entry.ts): built in a
 * temporary sibling under a lock, checked, then renamed into place; once complete it is never
 * removed by e2e, because a later failure comes from outside it (the environment) and is said so.
 */
import { spawn } from "node:child_process";
import { SDK_MODULES } from "../../backends/registry.ts";
import { existsSync } from "node:fs";
import { copyFile, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { log as consola } from "../../util/log.ts";
import { assetRoot } from "../../assets/bundle.ts";
import { ensureCacheEntry } from "../../util/cache-entry.ts";
import { envError, usageError } from "../../util/errors.ts";
import { sha256 } from "../../util/fs.ts";
import { cacheDir } from "../../util/paths.ts";
import { spawnManaged } from "../process.ts";
import { probePython, pythonVersionOk, type PythonInfo } from "./probe.ts";
import { cachedProbe, importEnv, probeRecordText } from "./probe-cache.ts";
import { environmentSuspects } from "./suspects.ts";

export interface PythonEnv {
  python: string;
  kind: "venv" | "user";
  info: PythonInfo;
  /** The probe came from its record (nothing was imported this time). */
  cached?: boolean;
}

export interface SetupOptions {
  python?: string;
  wheelhouse?: string;
  assets?: string;
  /** Called with pip's progress lines (package being collected/installed). */
  onProgress?: (line: string) => void;
}


export async function requirementsFile(assets?: string): Promise<{ path: string; hash: string }> {
  const path = join((await assetRoot(assets)).root, "python", "requirements.txt");
  return { path, hash: sha256(await readFile(path)).slice(0, 16) };
}

export async function venvDir(assets?: string): Promise<string> {
  return join(cacheDir(), "venvs", (await requirementsFile(assets)).hash);
}

/** Where the probe of `python` is recorded: in the venv itself, or under the cache for --python. */
export function probeRecord(python: string, venv?: string): string {
  const env = importEnv();
  const envTag = Object.keys(env).length ? `-${sha256(JSON.stringify(env)).slice(0, 12)}` : "";
  return venv ? join(venv, `.e2e-probe${envTag}.json`) : join(cacheDir(), "probes", `${sha256(python + envTag).slice(0, 16)}.json`);
}

/** Use the interpreter the user named, after checking it has what the workflows import. */
export async function useInterpreter(python: string): Promise<PythonEnv> {
  if (!existsSync(python)) throw usageError(`--python ${python} does not exist`, "give the path of a python3 executable");
  const r = await cachedProbe(python, probeRecord(python));
  if ("error" in r) throw usageError(`--python ${python} does not run: ${r.error}`, "give the path of a working python3");
  const info = r.info;
  if (!pythonVersionOk(info.python))
    throw usageError(`--python ${python} is Python ${info.python}`, "use Python 3.10 or newer");
  // A missing tracking SDK is the error of the backend that needs it (checked when it starts),
  // so the other backends still run.
  const missing = info.missing.filter((m) => !SDK_MODULES.includes(m));
  if (missing.length)
    throw usageError(
      `--python ${python} lacks ${missing.map((m) => `${m} (${info.importErrors?.[m] ?? "not importable"})`).join(", ")}`,
      `install them into it (pip install -r the requirements from \`e2e assets extract\`), or drop --python to use e2e's own venv${suspectHint()}`,
    );
  return { python, kind: "user", info, cached: r.cached };
}

const isComplete = async (dir: string) => existsSync(join(dir, ".complete")) && existsSync(join(dir, "bin", "python"));

/**
 * The cached venv if it is complete, else undefined. A complete venv that fails its probe is an
 * environment error (exit 3) naming the import error and the variables that may cause it.
 */
export async function existingVenv(assets?: string): Promise<PythonEnv | undefined> {
  const dir = await venvDir(assets);
  if (!(await isComplete(dir))) return undefined;
  return checkedVenv(dir);
}

async function checkedVenv(dir: string): Promise<PythonEnv> {
  const py = join(dir, "bin", "python");
  const r = await cachedProbe(py, probeRecord(py, dir));
  const failed = "error" in r ? r.error : r.info.missing.map((m) => `${m}: ${r.info.importErrors?.[m] ?? "not importable"}`).join("; ");
  if (failed)
    throw envError(
      `e2e's Python env at ${dir} is complete but fails its check: ${failed}`,
      `it passed when it was made, with no PYTHON* variables, and is kept as it is${suspectHint() || `; if the Python it was made from changed, remove ${dir} and run \`e2e setup\``}`,
    );
  return { python: py, kind: "venv", info: (r as { info: PythonInfo }).info, cached: (r as { cached: boolean }).cached };
}

function suspectHint(): string {
  const s = environmentSuspects();
  return s.length ? `; in your environment, ${s.join("; ")}: unset or fix it and try again` : "";
}

/** Resolve the environment, creating the venv when needed (or waiting for another e2e making it). */
export async function ensurePython(opts: SetupOptions): Promise<PythonEnv> {
  if (opts.python) return useInterpreter(opts.python);
  const dir = await venvDir(opts.assets);
  if (opts.wheelhouse && !existsSync(opts.wheelhouse) && !(await isComplete(dir)))
    throw usageError(`--wheelhouse ${opts.wheelhouse} does not exist`, "give the folder holding the wheels (e2e bundle create)");
  const { path: reqs } = await requirementsFile(opts.assets);
  await ensureCacheEntry({
    dir,
    what: "the Python env",
    isComplete,
    build: (tmp) => buildVenv(tmp, dir, reqs, opts),
    onWait: (h, what) => consola.info(`waiting for another e2e (pid ${h.pid}${h.host !== hostname() ? ` on ${h.host}` : ""}) building ${what} in ${dir}...`),
    staleMs: 10 * 60_000,
  });
  return checkedVenv(dir);
}


async function basePython(): Promise<string> {
  for (const cand of [process.env.E2E_BASE_PYTHON, "python3", "python3.12", "python3.11", "python3.10"]) {
    if (!cand) continue;
    const r = await capture(cand, ["-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"]);
    if (r.code === 0 && pythonVersionOk(r.stdout.trim())) return cand;
  }
  throw envError("no Python 3.10+ with the venv module found", "install python3 and python3-venv, or pass --python PATH");
}

/** Make the venv in `tmp` (later renamed to `final`), install, check it in isolation, record its probe. */
async function buildVenv(tmp: string, final: string, reqs: string, opts: SetupOptions): Promise<void> {
  const base = await basePython();
  consola.start(`creating Python venv in ${final}`);
  const log = join(tmp, "setup.log");
  // The temporary folder goes on failure; pip's log is kept beside the venv for the error to name.
  const shownLog = `${final}.setup.log`;
  try {
    await runStep([base, "-m", "venv", tmp], log, shownLog, "python -m venv");
    const py = join(tmp, "bin", "python");
    const index = opts.wheelhouse ? ["--no-index", "--find-links", opts.wheelhouse] : [];
    consola.start(`installing pinned packages (torch, lightning, ${SDK_MODULES.join(", ")}, tensorboard)${opts.wheelhouse ? ` from ${opts.wheelhouse}` : ""}`);
    await runStep([py, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", ...index, "-r", reqs], log, shownLog, "pip install", (line) => {
      const m = /^(Collecting|Installing collected packages|Successfully installed|Using cached|Processing)\s*(.*)/.exec(line.trim());
      if (m) opts.onProgress?.(`${m[1]} ${m[2]}`.slice(0, 120));
    });
    // Isolated (-I): the venv is judged on its own, not on the PYTHONPATH of whoever made it.
    const info = await probePython(py, { isolated: true });
    if ("error" in info || info.missing.length)
      throw envError(`the new venv cannot import ${"error" in info ? info.error : info.missing.map((m) => `${m} (${info.importErrors?.[m]})`).join(", ")}`, `see ${shownLog}`);
    await relocate(tmp, final);
    // The probe is recorded with the venv, for its final path (folder mtimes survive the rename).
    const record = await probeRecordText(py, info, importEnv(true));
    await writeFile(join(tmp, ".e2e-probe.json"), record.split(tmp).join(final));
    await writeFile(join(tmp, ".complete"), JSON.stringify({ requirements: reqs, base, created: new Date().toISOString() }));
    await rm(shownLog, { force: true });
  } catch (err) {
    await copyFile(log, shownLog).catch(() => {});
    throw err;
  }
}

/**
 * A venv names its own folder in bin/ (scripts' #! lines, activate): point them at the final
 * folder before the rename, so `torchrun` and friends work there. Python itself finds its prefix
 * from where it runs, and bytecode gets its file names fixed on import.
 */
async function relocate(tmp: string, final: string): Promise<void> {
  const bin = join(tmp, "bin");
  for (const name of await readdir(bin)) {
    const p = join(bin, name);
    let text: string;
    try {
      const buf = await readFile(p);
      if (buf.length > 1_000_000 || buf.includes(0)) continue; // binaries
      text = buf.toString("utf8");
    } catch {
      continue; // the python symlinks, sub-folders
    }
    if (text.includes(tmp)) await writeFile(p, text.split(tmp).join(final));
  }
}

async function runStep(argv: string[], log: string, shownLog: string, what: string, onLine?: (l: string) => void): Promise<void> {
  // argv[0] is a Python: it also sets PDEATHSIG, so pip dies with a killed e2e instead of writing
  // on into a folder the next builder removes.
  const p = spawnManaged(argv, { name: what, logFile: log, onStdoutLine: onLine, deathShim: argv[0] });
  const code = await p.exited;
  if (code !== 0) {
    const tail = (await readFile(log, "utf8").catch(() => "")).trim().split("\n").slice(-15).join("\n");
    const why = tail.split("\n").reverse().find((l) => /error|no matching|could not/i.test(l)) ?? `exit code ${code}`;
    throw envError(`${what} failed: ${why.trim()}`, `read ${shownLog}; with no network use --wheelhouse DIR`, tail);
  }
}

function capture(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d));
    c.on("error", () => resolve({ code: 127, stdout }));
    c.on("close", (code) => resolve({ code: code ?? 1, stdout }));
  });
}
