/** Ask an interpreter what it has: Python, torch, CUDA and the tracking SDKs, as one JSON line. */
import { spawnSync } from "node:child_process";

export const REQUIRED_MODULES = ["torch", "lightning", "mlflow", "wandb", "clearml", "tensorboard", "matplotlib"] as const;

export interface PythonInfo {
  executable: string;
  python: string;
  packages: Record<string, string | null>;
  missing: string[];
  torch?: { version: string; cuda: boolean; cudaVersion: string | null; devices: string[] };
}

const PROBE = `
import json, sys, importlib
mods = ${JSON.stringify(REQUIRED_MODULES)}
out = {"executable": sys.executable, "python": sys.version.split()[0], "packages": {}, "missing": []}
for m in mods:
    try:
        mod = importlib.import_module(m)
        out["packages"][m] = getattr(mod, "__version__", "?")
    except Exception as e:
        out["packages"][m] = None
        out["missing"].append(m)
if out["packages"].get("torch"):
    import torch
    cuda = torch.cuda.is_available()
    out["torch"] = {"version": torch.__version__, "cuda": cuda, "cudaVersion": torch.version.cuda,
                    "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []}
print(json.dumps(out))
`;

/** Returns undefined when the interpreter cannot run at all. */
export function probePython(executable: string, timeoutMs = 120_000): PythonInfo | { error: string } {
  const r = spawnSync(executable, ["-c", PROBE], { encoding: "utf8", timeout: timeoutMs });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | ") };
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as PythonInfo;
  } catch {
    return { error: `unexpected output: ${line.slice(0, 200)}` };
  }
}

export function pythonVersionOk(version: string): boolean {
  const [maj, min] = version.split(".").map(Number);
  return maj === 3 && (min ?? 0) >= 10;
}
