/** Each thing e2e needs, found or not, with the fix. */
import { spawnSync } from "node:child_process";
import { existsSync, statfsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { cacheDir, tempRoot } from "../util/paths.ts";
import { assetRoot } from "../assets/bundle.ts";
import { existingVenv, venvDir } from "../runtime/python/env.ts";
import { probePython } from "../runtime/python/probe.ts";
import { formatError } from "../util/errors.ts";

export interface Finding {
  name: string;
  status: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
  data?: unknown;
}

export async function diagnose(o: { python?: string; assets?: string }): Promise<Finding[]> {
  const out: Finding[] = [];
  try {
    const a = await assetRoot(o.assets);
    out.push({ name: "assets", status: "ok", message: `${a.source} at ${a.root}` });
  } catch (err) {
    out.push({ name: "assets", status: "fail", message: formatError(err), fix: "re-download e2e or fix --assets" });
    return out;
  }
  out.push(...(await pythonFindings(o)));
  const git = spawnSync("git", ["--version"], { encoding: "utf8" });
  out.push(git.status === 0 ? { name: "git", status: "ok", message: git.stdout.trim() } : { name: "git", status: "fail", message: "git not found", fix: "apt-get install git" });
  out.push(await dockerFinding());
  out.push(diskFinding("cache", cacheDir(), 8), diskFinding("temp", tempRoot(), 1));
  return out;
}

async function pythonFindings(o: { python?: string; assets?: string }): Promise<Finding[]> {
  let py = o.python;
  if (!py) {
    const venv = await existingVenv(o.assets);
    if (!venv)
      return [{ name: "python", status: "warn", message: `no e2e venv yet (${await venvDir(o.assets)})`, fix: "run `e2e setup` (or `e2e run`, which sets up on first use), or pass --python PATH" }];
    py = venv.python;
  }
  const info = probePython(py);
  if ("error" in info) return [{ name: "python", status: "fail", message: `${py}: ${info.error}`, fix: "pass --python PATH of a working python3" }];
  const out: Finding[] = [{ name: "python", status: "ok", message: `Python ${info.python} at ${py}` }];
  out.push(info.missing.length
    ? { name: "packages", status: "fail", message: `missing: ${info.missing.join(", ")}`, fix: "run `e2e setup`, or pip install them into --python" }
    : { name: "packages", status: "ok", message: Object.entries(info.packages).map(([k, v]) => `${k} ${v}`).join(", ") });
  if (info.torch)
    out.push({ name: "torch", status: "ok", message: `torch ${info.torch.version}; CUDA ${info.torch.cuda ? `usable: ${info.torch.devices.join(", ")}` : "not usable (workflows run on the CPU)"}`, data: info.torch });
  return out;
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
