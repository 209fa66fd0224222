/**
 * A backend's descriptor: the small record every command reads (plan, bench, `up`, `--script`'s
 * SDK detection, the deployment checks), loaded eagerly; the driver behind `load()` is imported
 * only when the backend is chosen. Adding a backend is adding a folder with an index.ts that
 * exports one of these, and naming it in registry.ts.
 */
import type { BackendName } from "../verify/manifest.ts";
import type { TimestampRule } from "../verify/timestamps.ts";
import type { BackendDriver, Mode } from "./types.ts";

export interface BackendDescriptor {
  name: BackendName;
  /** As people write it: "MLflow", "W&B", "ClearML". */
  title: string;
  /** The modes `e2e run --mode` accepts for it; the first is not necessarily the default. */
  modes: readonly Mode[];
  defaultMode: Mode;
  /**
   * What `--mode url` reads: the secrets' environment variables (they win when set), what
   * --api-key-file holds, and the variable that names such a file instead of the flag.
   */
  credentials: { env: readonly string[]; file?: string; fileEnv?: string; required: boolean };
  /** Which of its servers `--url` names, where that is not plain (ClearML: the API server). */
  urlIs?: string;
  /**
   * Its SDK: the Python module (`import mlflow`); source patterns that show a script logs through
   * it; the version python/requirements.txt pins (a test keeps the two equal); the oldest release
   * whose formats the readers know and the first major not yet seen (outside: refused, exit 3).
   */
  sdk: { module: string; detect: readonly RegExp[]; pinned: string; supported: { min: string; belowMajor: number } };
  /** How it keeps a metric point's timestamp: the window the timestamp check accepts, and why. */
  timestamps: TimestampRule;
  /**
   * Its compose stack, if any, for `e2e up`, `e2e images` and bundles: the name (the file
   * assets/compose/<stack>.yml on disk) and that file's text, embedded in the program.
   */
  compose?: { stack: string; yml: string };
  load(): Promise<BackendDriver>;
}

/** A script imports this module (`import x`, `import a, x`, `from x import ...`, `from x.y import ...`). */
export const imports = (m: string) => new RegExp(`^\\s*(import\\s[^\\n#]*\\b${m}\\b|from\\s+${m}\\b)`, "m");
