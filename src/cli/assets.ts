import { defineCommand } from "citty";
import { extractAssetsCommand } from "../commands/assets.ts";
import { COMMANDS } from "./meta.ts";

const extract = defineCommand({
  meta: { name: "extract", description: "Write the embedded workflows, adapter and compose files to DIR, to read or change (then run with --assets DIR)" },
  args: { dir: { type: "positional", description: "Target folder (must be empty or absent)", required: true } },
  run: ({ args }) => extractAssetsCommand(args.dir),
});

export default defineCommand({
  meta: COMMANDS.assets,
  subCommands: { extract },
});
