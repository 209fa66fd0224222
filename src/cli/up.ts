import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs, printJson } from "./_shared.ts";
import { assetRoot } from "../assets/bundle.ts";
import { startStack } from "../runtime/docker/start.ts";
import { parseList } from "../plan/plan.ts";
import { COMPOSE_STACKS } from "../backends/registry.ts";
import { log } from "../util/log.ts";


export default defineCommand({
  meta: COMMANDS.up,
  args: {
    backend: { type: "string", description: `Stacks, comma-separated: ${COMPOSE_STACKS.join(", ")} (default: mlflow)`, alias: "b" },
    keep: { type: "boolean", description: "Leave the stacks running after e2e exits, and print how to reach and remove them" },
    assets: pythonArgs.assets,
    ...jsonArgs,
  },
  async run({ args }) {
    const names = parseList("backend", args.backend, COMPOSE_STACKS, ["mlflow"]);
    const root = (await assetRoot(args.assets)).root;
    const out: Record<string, { services: Record<string, string[]>; session: string; remove: string[] }> = {};
    for (const name of names) {
      const run = await startStack(root, name, { keep: !!args.keep });
      out[name] = {
        session: run.stack.session.id,
        services: Object.fromEntries(Object.entries(run.stack.services).map(([k, s]) => [k, run.stack.howTo().filter((l) => l.startsWith(`${k}:`))])),
        remove: [`e2e down --session ${run.stack.session.id}`, ...run.stack.howTo().filter((l) => l.startsWith("remove:"))],
      };
      if (!args.json) for (const l of run.stack.howTo()) log.info(`${name}: ${l}`);
      if (!args.keep) {
        log.info(`${name}: up and healthy; stopping it again (pass --keep to leave it running)`);
        await run.stop();
      } else log.success(`${name} left running; remove it with: e2e down --session ${run.stack.session.id}`);
    }
    if (args.json) printJson(out);
    return 0;
  },
});
