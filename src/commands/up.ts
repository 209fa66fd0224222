/** `e2e up`: bring compose stacks up (127.0.0.1 only), say how to reach them, and stop them unless --keep. */
import { assetRoot } from "../assets/bundle.ts";
import { COMPOSE_STACKS } from "../backends/registry.ts";
import { parseList } from "../plan/plan.ts";
import { startStack } from "../runtime/docker/start.ts";
import { ExitCode } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { printJson } from "../util/output.ts";

/** For --help: the stacks the backend descriptors ship. */
export const UP_STACKS = COMPOSE_STACKS;

export async function upCommand(a: { backend?: string; keep?: boolean; assets?: string; json?: boolean }): Promise<number> {
  const names = parseList("backend", a.backend, COMPOSE_STACKS, ["mlflow"]);
  const root = (await assetRoot(a.assets)).root;
  const out: Record<string, { services: Record<string, string[]>; session: string; remove: string[] }> = {};
  for (const name of names) {
    const run = await startStack(root, name, { keep: !!a.keep });
    out[name] = {
      session: run.stack.session.id,
      services: Object.fromEntries(Object.entries(run.stack.services).map(([k]) => [k, run.stack.howTo().filter((l) => l.startsWith(`${k}:`))])),
      remove: [`e2e down --session ${run.stack.session.id}`, ...run.stack.howTo().filter((l) => l.startsWith("remove:"))],
    };
    if (!a.json) for (const l of run.stack.howTo()) log.info(`${name}: ${l}`);
    if (!a.keep) {
      log.info(`${name}: up and healthy; stopping it again (pass --keep to leave it running)`);
      await run.stop();
    } else log.success(`${name} left running; remove it with: e2e down --session ${run.stack.session.id}`);
  }
  if (a.json) printJson(out);
  return ExitCode.ok;
}
