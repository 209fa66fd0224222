/**
 * `--script` -> what to run: a Python file (run with e2e's interpreter) or a whole command line
 * ("torchrun --nproc-per-node 2 train.py", run by /bin/sh with the interpreter's folder first on
 * PATH), plus the arguments after `--`. Without --backend, the SDKs the script imports choose
 * the backends.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { BackendName } from "../verify/manifest.ts";
import { usageError } from "../util/errors.ts";
import { BACKENDS, BACKEND_NAMES } from "../backends/registry.ts";

export interface ScriptSpec {
  /** As the user wrote it, for messages and the report. */
  display: string;
  kind: "file" | "command";
  /** Absolute path of the .py file (file form). */
  file?: string;
  /** The command line (command form). */
  command?: string;
  args: string[];
  cwd: string;
  /** Python files named on the command line (SDK detection reads them). */
  sources: string[];
}

export function parseScript(value: string, args: string[] = [], cwd = process.cwd()): ScriptSpec {
  const v = value.trim();
  if (!v) throw usageError("--script is empty", "pass a .py file or a command, e.g. --script train.py");
  const asFile = resolve(cwd, v);
  if (!/\s/.test(v) || (existsSync(asFile) && statSync(asFile).isFile())) {
    if (!existsSync(asFile)) throw usageError(`script ${v} does not exist`, `check the path (relative to ${cwd})`);
    if (!statSync(asFile).isFile()) throw usageError(`script ${v} is not a file`, "pass the training script's .py file");
    return { display: [v, ...args].join(" "), kind: "file", file: asFile, args, cwd, sources: [asFile] };
  }
  const sources = v
    .split(/\s+/)
    .map((t) => t.replace(/^['"]|['"]$/g, ""))
    .filter((t) => t.endsWith(".py"))
    .map((t) => resolve(cwd, t))
    .filter((p) => existsSync(p));
  return { display: [v, ...args].join(" "), kind: "command", command: v, args, cwd, sources };
}

/** The SDKs a script's source imports (its own files only; a guess that the records confirm). */
export function detectSdks(spec: ScriptSpec): BackendName[] {
  const found = new Set<BackendName>();
  for (const file of spec.sources) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const b of BACKENDS) if (b.sdk.detect.some((re) => re.test(text))) found.add(b.name);
  }
  return [...found];
}

/** --backend as given, else the SDKs the script imports; neither is bad input. */
export function scriptBackends(spec: ScriptSpec, backend: string | undefined): string {
  if (backend) return backend;
  const found = detectSdks(spec);
  if (!found.length)
    throw usageError(
      `cannot tell which SDK ${spec.display} logs through (no import of ${BACKENDS.map((b) => b.sdk.module).join(", ")} in ${spec.sources.length ? spec.sources.join(", ") : "its command line"})`,
      `pass --backend ${BACKEND_NAMES.join(", ")}`,
    );
  return found.join(",");
}
