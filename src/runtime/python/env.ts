/**
 * The Python environment the workflows run in: a venv in the cache keyed by the hash of the
 * pinned requirements, or an interpreter the user names with --python (GPU boxes already have
 * their own CUDA torch). A venv is complete only when its marker file exists; a half-made one
 * from a killed run is removed and made again.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { log as consola } from "../../util/log.ts";
import { assetRoot } from "../../assets/bundle.ts";
import { envError, usageError } from "../../util/errors.ts";
import { sha256 } from "../../util/fs.ts";
import { cacheDir } from "../../util/paths.ts";
import { spawnManaged } from "../process.ts";
import { probePython, pythonVersionOk, type PythonInfo } from "./probe.ts";

export interface PythonEnv {
  python: string;
  kind: "venv" | "user";
  info: PythonInfo;
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

/** Use the interpreter the user named, after checking it has what the workflows import. */
export function useInterpreter(python: string): PythonEnv {
  if (!existsSync(python)) throw usageError(`--python ${python} does not exist`, "give the path of a python3 executable");
  const info = probePython(python);
  if ("error" in info) throw usageError(`--python ${python} does not run: ${info.error}`, "give the path of a working python3");
  if (!pythonVersionOk(info.python))
    throw usageError(`--python ${python} is Python ${info.python}`, "use Python 3.10 or newer");
  // A missing tracking SDK is the error of the backend that needs it (checked when it starts),
  // so the other backends still run.
  const missing = info.missing.filter((m) => !["mlflow", "wandb", "clearml"].includes(m));
  if (missing.length)
    throw usageError(
      `--python ${python} lacks ${missing.join(", ")}`,
      `install them into it (pip install -r the requirements from \`e2e assets extract\`), or drop --python to use e2e's own venv`,
    );
  return { python, kind: "user", info };
}

/** The cached venv if it is complete, else undefined. */
export async function existingVenv(assets?: string): Promise<PythonEnv | undefined> {
  const dir = await venvDir(assets);
  const py = join(dir, "bin", "python");
  if (!existsSync(join(dir, ".complete")) || !existsSync(py)) return undefined;
  const info = probePython(py);
  if ("error" in info || info.missing.length) return undefined;
  return { python: py, kind: "venv", info };
}

/** Resolve the environment, creating the venv when needed. */
export async function ensurePython(opts: SetupOptions): Promise<PythonEnv> {
  if (opts.python) return useInterpreter(opts.python);
  return (await existingVenv(opts.assets)) ?? createVenv(opts);
}

function basePython(): string {
  for (const cand of [process.env.E2E_BASE_PYTHON, "python3", "python3.12", "python3.11", "python3.10"]) {
    if (!cand) continue;
    const r = spawnSync(cand, ["-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
    if (r.status === 0 && pythonVersionOk(r.stdout.trim())) return cand;
  }
  throw envError("no Python 3.10+ with the venv module found", "install python3 and python3-venv, or pass --python PATH");
}

async function createVenv(opts: SetupOptions): Promise<PythonEnv> {
  const { path: reqs } = await requirementsFile(opts.assets);
  const dir = await venvDir(opts.assets);
  if (opts.wheelhouse && !existsSync(opts.wheelhouse))
    throw usageError(`--wheelhouse ${opts.wheelhouse} does not exist`, "give the folder holding the wheels (e2e bundle create)");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const base = basePython();
  consola.start(`creating Python venv in ${dir}`);
  const log = join(dir, "setup.log");
  await runStep([base, "-m", "venv", dir], log, "python -m venv");
  const py = join(dir, "bin", "python");
  const index = opts.wheelhouse ? ["--no-index", "--find-links", opts.wheelhouse] : [];
  consola.start(`installing pinned packages (torch, lightning, mlflow, wandb, clearml, tensorboard)${opts.wheelhouse ? ` from ${opts.wheelhouse}` : ""}`);
  await runStep([py, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", ...index, "-r", reqs], log, "pip install", (line) => {
    const m = /^(Collecting|Installing collected packages|Successfully installed|Using cached|Processing)\s*(.*)/.exec(line.trim());
    if (m) opts.onProgress?.(`${m[1]} ${m[2]}`.slice(0, 120));
  });
  const info = probePython(py);
  if ("error" in info || info.missing.length)
    throw envError(`the new venv cannot import ${"error" in info ? info.error : info.missing.join(", ")}`, `see ${log}`);
  await writeFile(join(dir, ".complete"), JSON.stringify({ requirements: reqs, created: new Date().toISOString() }));
  return { python: py, kind: "venv", info };
}

async function runStep(argv: string[], log: string, what: string, onLine?: (l: string) => void): Promise<void> {
  const p = spawnManaged(argv, { name: what, logFile: log, onStdoutLine: onLine });
  const code = await p.exited;
  if (code !== 0) {
    const tail = (await readFile(log, "utf8").catch(() => "")).trim().split("\n").slice(-15).join("\n");
    const why = tail.split("\n").reverse().find((l) => /error|no matching|could not/i.test(l)) ?? `exit code ${code}`;
    throw envError(`${what} failed: ${why.trim()}`, `read ${log}; with no network use --wheelhouse DIR`, tail);
  }
}
