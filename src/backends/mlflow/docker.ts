/** MLflow in containers: the compose stack (server + PostgreSQL) through the Docker Engine API. */
import type { BackendContext } from "../types.ts";
import { startStack } from "../../runtime/docker/start.ts";

export async function startDockerMlflow(ctx: BackendContext): Promise<{ url: string; stop: () => Promise<void>; stats: () => Promise<unknown> }> {
  const run = await startStack(ctx.assetRoot, "mlflow");
  const url = run.stack.services.mlflow!.url(5000).replace(/\/$/, "");
  return { url, stop: run.stop, stats: () => run.stack.stats() };
}
