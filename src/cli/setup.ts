import { defineCommand } from "citty";
import { setupCommand } from "../commands/setup.ts";
import { COMMANDS } from "./meta.ts";
import { pythonArgs, jsonArgs } from "./_shared.ts";

export default defineCommand({
  meta: COMMANDS.setup,
  args: {
    ...pythonArgs,
    wheelhouse: { type: "string", description: "Install from this folder of wheels with no index (air-gapped)", valueHint: "DIR" },
    bundle: { type: "string", description: "Install from an offline bundle (e2e bundle create): checksums, wheels, images", valueHint: "DIR" },
    ...jsonArgs,
  },
  run: ({ args }) => setupCommand({ python: args.python, assets: args.assets, wheelhouse: args.wheelhouse, bundle: args.bundle, json: args.json }),
});
