import { defineCommand } from "citty";
import { doctorCommand } from "../commands/doctor.ts";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs } from "./_shared.ts";


export default defineCommand({
  meta: COMMANDS.doctor,
  args: {
    ...pythonArgs,
    deep: { type: "boolean", description: "Probe the interpreter afresh (imports torch and the SDKs, asks CUDA) instead of reading its recorded probe" },
    ...jsonArgs,
  },
  run: ({ args }) => doctorCommand({ python: args.python, assets: args.assets, deep: args.deep, json: args.json }),
});
