import type { BackendName } from "../verify/manifest.ts";
import type { BackendDriver } from "./types.ts";

/** Drivers load lazily so a command touches only the backends it uses. */
export async function driverFor(name: BackendName): Promise<BackendDriver> {
  switch (name) {
    case "mlflow":
      return (await import("./mlflow/driver.ts")).mlflowDriver;
    case "wandb":
      return (await import("./wandb/driver.ts")).wandbDriver;
    case "clearml":
      return (await import("./clearml/driver.ts")).clearmlDriver;
  }
}
