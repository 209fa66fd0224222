/**
 * A backend's descriptor: the small record every command reads (plan, bench, `up`, `--script`'s
 * SDK detection, the deployment checks), loaded eagerly; the driver behind `load()` is imported
 * only when the backend is chosen. Adding a backend is adding a folder with an index.ts that
 * exports one of these, and naming it in registry.ts.
 */
import type { BackendName } from "../verify/manifest.ts";
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
  credentials: { env: readonly string[]; file?: string; fileEnv?: string };
  /**
   * Its SDK: the Python module (`import mlflow`); source patterns that show a script logs through
   * it; the version python/requirements.txt pins (a test keeps the two equal); the oldest release
   * whose formats the readers know and the first major not yet seen (outside: refused, exit 3).
   */
  sdk: { module: string; detect: readonly RegExp[]; pinned: string; supported: { min: string; belowMajor: number } };
  /** Its embedded compose stack (assets/compose/<stack>.yml) for `e2e up`, if any. */
  composeStack?: string;
  load(): Promise<BackendDriver>;
}

/** A script imports this module (`import x`, `import a, x`, `from x import ...`, `from x.y import ...`). */
export const imports = (m: string) => new RegExp(`^\\s*(import\\s[^\\n#]*\\b${m}\\b|from\\s+${m}\\b)`, "m");
