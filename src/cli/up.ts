import { defineCommand } from "citty";
import { UP_STACKS, upCommand } from "../commands/up.ts";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs } from "./_shared.ts";

export default defineCommand({
  meta: COMMANDS.up,
  args: {
    backend: { type: "string", description: `Stacks, comma-separated: ${UP_STACKS.join(", ")} (default: mlflow)`, alias: "b" },
    keep: { type: "boolean", description: "Leave the stacks running after e2e exits, and print how to reach and remove them" },
    assets: pythonArgs.assets,
    ...jsonArgs,
  },
  run: ({ args }) => upCommand({ backend: args.backend, keep: args.keep, assets: args.assets, json: args.json }),
});
