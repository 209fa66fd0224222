/**
 * Each thing e2e needs, found or not, with the fix. Warm, it imports nothing: the Python part
 * reads the venv's recorded probe (re-probed only when its key changed), and the checks run side
 * by side. `--deep` probes the interpreter afresh, CUDA and devices included.
 */
import { execFile } from "node:child_process";
import { existsSync, statfsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { driverGpus } from "../util/gpus.ts";
import { cacheDir, tempRoot } from "../util/paths.ts";
import { assetRoot } from "../assets/bundle.ts";
import { existingVenv, probeRecord, useInterpreter, venvDir, type PythonEnv } from "../runtime/python/env.ts";
import { probePython, type PythonInfo } from "../runtime/python/probe.ts";
import { writeProbe } from "../runtime/python/probe-cache.ts";
import { environmentSuspects } from "../runtime/python/suspects.ts";
import { formatError } from "../util/errors.ts";

export interface Finding {
  name: string;
  status: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
  data?: unknown;
}

export interface DiagnoseOptions {
  python?: string;
  assets?: string;
  /** Probe the interpreter afresh (imports everything, asks CUDA). */
  deep?: boolean;
}

export async function diagnose(o: DiagnoseOptions): Promise<Finding[]> {
  let assets: Finding;
  try {
    const a = await assetRoot(o.assets);
    assets = { name: "assets", status: "ok", message: `${a.source} at ${a.root}` };
  } catch (err) {
    return [{ name: "assets", status: "fail", message: formatError(err), fix: "re-download e2e or fix --assets" }];
  }
  const [python, git, docker] = await Promise.all([pythonFindings(o), gitFinding(), dockerFinding()]);
  return [assets, ...python, git, docker, diskFinding("cache", cacheDir(), 8), diskFinding("temp", tempRoot(), 1)];
}

async function pythonFindings(o: DiagnoseOptions): Promise<Finding[]> {
  let env: PythonEnv | undefined;
  try {
    env = o.python ? await useInterpreter(o.python) : await existingVenv(o.assets);
  } catch (err) {
    return [{ name: "python", status: "fail", message: formatError(err), fix: "see the message; `e2e doctor --deep` probes afresh" }];
  }
  if (!env)
    return [{ name: "python", status: "warn", message: `no e2e venv yet (${await venvDir(o.assets)})`, fix: "run `e2e setup` (or `e2e run`, which sets up on first use), or pass --python PATH" }];
  let info: PythonInfo = env.info;
  let how = env.cached ? "recorded probe" : "probed now";
  if (o.deep) {
    const fresh = await probePython(env.python, { deep: true });
    if ("error" in fresh)
      return [{ name: "python", status: "fail", message: `${env.python}: ${fresh.error}`, fix: hintFor("pass --python PATH of a working python3") }];
    info = fresh;
    how = "probed now, --deep";
    const dir = env.kind === "venv" ? env.python.replace(/\/bin\/python$/, "") : undefined;
    if (!fresh.missing.length) await writeProbe(probeRecord(env.python, dir), env.python, { ...fresh, torch: fresh.torch && { version: fresh.torch.version, cudaVersion: fresh.torch.cudaVersion } }).catch(() => {});
  }
  const out: Finding[] = [{ name: "python", status: "ok", message: `Python ${info.python} at ${env.python} (${how}${info.probedAt ? ` ${info.probedAt}` : ""})`, data: { cached: !o.deep && !!env.cached } }];
  out.push(info.missing.length
    ? { name: "packages", status: "fail", message: `missing: ${info.missing.map((m) => `${m} (${info.importErrors?.[m] ?? "not importable"})`).join(", ")}`, fix: hintFor("run `e2e setup`, or pip install them into --python") }
    : { name: "packages", status: "ok", message: Object.entries(info.packages).map(([k, v]) => `${k} ${v}`).join(", "), data: info.packages });
  if (info.torch) out.push(torchFinding(info.torch));
  return out;
}

function hintFor(fix: string): string {
  const s = environmentSuspects();
  return s.length ? `${fix}; in your environment, ${s.join("; ")}` : fix;
}

function torchFinding(t: NonNullable<PythonInfo["torch"]>): Finding {
  const build = `torch ${t.version} (CUDA build ${t.cudaVersion ?? "none"})`;
  if (t.cuda !== undefined)
    return { name: "torch", status: "ok", message: `${build}; CUDA ${t.cuda ? `usable: ${t.devices?.join(", ")}` : "not usable (workflows run on the CPU)"}`, data: t };
  // Without --deep, CUDA is not initialised: the driver's own list of GPUs costs nothing.
  const gpus = driverGpus();
  const seen = gpus.length ? `the NVIDIA driver lists ${gpus.join(", ")}` : "no NVIDIA GPU listed by a driver";
  return { name: "torch", status: "ok", message: `${build}; ${seen}; each workflow reports its device (--deep asks CUDA now)`, data: { ...t, driverGpus: gpus } };
}

function gitFinding(): Promise<Finding> {
  return new Promise((resolve) =>
    execFile("git", ["--version"], { encoding: "utf8" }, (err, stdout) =>
      resolve(err ? { name: "git", status: "fail", message: "git not found", fix: "apt-get install git" } : { name: "git", status: "ok", message: stdout.trim() }),
    ),
  );
}

async function dockerFinding(): Promise<Finding> {
  try {
    const { findEngine } = await import("../runtime/docker/engine.ts");
    const e = await findEngine();
    return { name: "docker", status: "ok", message: `${e.kind} ${e.version} at ${e.source}` };
  } catch (err) {
    return { name: "docker", status: "warn", message: `no Docker engine: ${formatError(err)}`, fix: "only needed for --mode docker: start dockerd or set DOCKER_HOST" };
  }
}

function diskFinding(name: string, dir: string, wantGiB: number): Finding {
  try {
    if (!existsSync(dir)) void mkdir(dir, { recursive: true });
    const probe = existsSync(dir) ? dir : "/";
    const s = statfsSync(probe);
    const free = (s.bavail * s.bsize) / 2 ** 30;
    return { name: `disk (${name})`, status: free < wantGiB ? "warn" : "ok", message: `${free.toFixed(1)} GiB free at ${dir}`, fix: `free up space or set ${name === "cache" ? "E2E_CACHE_DIR" : "E2E_TMPDIR"} (about ${wantGiB} GiB needed)` };
  } catch (err) {
    return { name: `disk (${name})`, status: "warn", message: `cannot read free space at ${dir}: ${(err as Error).message}` };
  }
}
