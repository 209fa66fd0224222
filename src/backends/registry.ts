/**
 * The one list of backends. Everything that names backends or their modes reads it; drivers
 * load lazily (descriptor.load()) so a command touches only the backends it uses.
 */
import type { BackendName } from "../verify/manifest.ts";
import { clearml } from "./clearml/index.ts";
import type { BackendDescriptor } from "./descriptor.ts";
import { mlflow } from "./mlflow/index.ts";
import type { BackendDriver } from "./types.ts";
import { wandb } from "./wandb/index.ts";

export type { BackendDescriptor };

export const BACKENDS: readonly BackendDescriptor[] = [mlflow, wandb, clearml];

export const BACKEND_NAMES: readonly BackendName[] = BACKENDS.map((b) => b.name);

export function descriptorOf(name: BackendName): BackendDescriptor {
  const d = BACKENDS.find((b) => b.name === name);
  if (!d) throw new Error(`no backend descriptor for '${name}'`);
  return d;
}

export const driverFor = (name: BackendName): Promise<BackendDriver> => descriptorOf(name).load();

/** Stacks `e2e up` can start: every backend that ships a compose file. */
export const COMPOSE_STACKS: readonly string[] = BACKENDS.flatMap((b) => (b.compose ? [b.compose.stack] : []));

/** The tracking SDKs' Python modules (the interpreter probe asks for each). */
export const SDK_MODULES: readonly string[] = BACKENDS.map((b) => b.sdk.module);
