import { defineCommand } from "citty";
import { pythonArgs, jsonArgs, printJson } from "./_shared.ts";
import { ensurePython } from "../runtime/python/env.ts";
import { log } from "../util/log.ts";

export default defineCommand({
  meta: { name: "setup", description: "Create (or check) the Python environment the workflows run in" },
  args: {
    ...pythonArgs,
    wheelhouse: { type: "string", description: "Install from this folder of wheels with no index (air-gapped)", valueHint: "DIR" },
    ...jsonArgs,
  },
  async run({ args }) {
    const env = await ensurePython({ python: args.python, wheelhouse: args.wheelhouse, assets: args.assets, onProgress: (l) => log.info(l) });
    const t = env.info.torch;
    if (args.json) printJson({ python: env.python, kind: env.kind, info: env.info });
    else
      log.success(`Python ${env.info.python} at ${env.python} (${env.kind === "venv" ? "e2e venv" : "your interpreter"}); torch ${t?.version}, CUDA ${t?.cuda ? `yes (${t.devices.join(", ")})` : "not usable"}`);
    return 0;
  },
});
