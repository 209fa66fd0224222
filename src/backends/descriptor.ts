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
  /** What `--mode url` needs: variables read from the environment, and what --api-key-file holds. */
  credentials: { env: readonly string[]; file?: string };
  /** The Python module of its SDK (`import mlflow`), and source patterns that show a script logs through it. */
  sdk: { module: string; detect: readonly RegExp[] };
  /** Its embedded compose stack (assets/compose/<stack>.yml) for `e2e up`, if any. */
  composeStack?: string;
  load(): Promise<BackendDriver>;
}

/** A script imports this module (`import x`, `import a, x`, `from x import ...`, `from x.y import ...`). */
export const imports = (m: string) => new RegExp(`^\\s*(import\\s[^\\n#]*\\b${m}\\b|from\\s+${m}\\b)`, "m");
