/** MLflow in containers: the embedded compose stack (server + PostgreSQL) through the Docker Engine API. */
import type { BackendContext } from "../types.ts";
import { usageError } from "../../util/errors.ts";

export async function startDockerMlflow(_ctx: BackendContext): Promise<{ url: string; stop: () => Promise<void> }> {
  throw usageError("docker mode is not available in this build yet", "use --mode native or --mode url");
}
