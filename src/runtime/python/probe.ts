/**
 * Ask an interpreter what it has: Python, torch and the tracking SDKs, as one JSON line. Importing
 * them all costs seconds of CPU, so callers use the cached probe (probe-cache.ts); the CUDA and
 * device part is asked only by `doctor --deep`, since each workflow reports the device it ran on.
 */
import { spawn } from "node:child_process";
import { SDK_MODULES } from "../../backends/registry.ts";

export const REQUIRED_MODULES = ["torch", "lightning", ...SDK_MODULES, "tensorboard", "matplotlib"];

export interface PythonInfo {
  executable: string;
  python: string;
  packages: Record<string, string | null>;
  missing: string[];
  /** Why each missing module failed to import ("ModuleNotFoundError: ..."). */
  importErrors?: Record<string, string>;
  /** cuda and devices only from a deep probe (a live CUDA check). */
  torch?: { version: string; cudaVersion: string | null; cuda?: boolean; devices?: string[] };
  /** Existing folders on sys.path: a package added, removed or replaced changes their mtime. */
  paths?: string[];
  probedAt?: string;
}

export interface ProbeOptions {
  /** Also ask CUDA whether it is usable and which devices it sees. */
  deep?: boolean;
  /** python -I: no PYTHON* variables, no user site (checks the interpreter itself). */
  isolated?: boolean;
  timeoutMs?: number;
}

const script = (deep: boolean) => `
import json, os, sys, importlib
mods = ${JSON.stringify(REQUIRED_MODULES)}
out = {"executable": sys.executable, "python": sys.version.split()[0], "packages": {}, "missing": [], "importErrors": {}}
for m in mods:
    try:
        mod = importlib.import_module(m)
        out["packages"][m] = getattr(mod, "__version__", "?")
    except BaseException as e:
        out["packages"][m] = None
        out["missing"].append(m)
        out["importErrors"][m] = ("%s: %s" % (type(e).__name__, e)).strip()[:400]
if out["packages"].get("torch"):
    import torch
    out["torch"] = {"version": torch.__version__, "cudaVersion": torch.version.cuda}
    if ${deep ? "True" : "False"}:
        cuda = torch.cuda.is_available()
        out["torch"]["cuda"] = cuda
        out["torch"]["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
out["paths"] = sorted({os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)})
print(json.dumps(out))
`;

/** Run the probe (asynchronously: it never blocks the event loop). */
export function probePython(executable: string, o: ProbeOptions = {}): Promise<PythonInfo | { error: string }> {
  return new Promise((resolve) => {
    const args = [...(o.isolated ? ["-I"] : []), "-c", script(!!o.deep)];
    // cwd "/": `-c` puts the working folder on sys.path, and the user's folder may hold a torch/.
    const child = spawn(executable, args, { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 180_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ error: e.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const why = (err || out || (signal ? `killed by ${signal}` : `exit ${code}`)).trim().split("\n").slice(-3).join(" | ");
        return resolve({ error: why });
      }
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve({ ...(JSON.parse(line) as PythonInfo), probedAt: new Date().toISOString() });
      } catch {
        resolve({ error: `unexpected output: ${line.slice(0, 200)}` });
      }
    });
  });
}

export function pythonVersionOk(version: string): boolean {
  const [maj, min] = version.split(".").map(Number);
  return maj === 3 && (min ?? 0) >= 10;
}
