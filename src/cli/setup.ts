import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { pythonArgs, jsonArgs, printJson } from "./_shared.ts";
import { ensurePython } from "../runtime/python/env.ts";
import { log } from "../util/log.ts";
import { usageError } from "../util/errors.ts";
import { installBundle } from "../bundle/install.ts";

export default defineCommand({
  meta: COMMANDS.setup,
  args: {
    ...pythonArgs,
    wheelhouse: { type: "string", description: "Install from this folder of wheels with no index (air-gapped)", valueHint: "DIR" },
    bundle: { type: "string", description: "Install from an offline bundle (e2e bundle create): checksums, wheels, images", valueHint: "DIR" },
    ...jsonArgs,
  },
  async run({ args }) {
    if (args.bundle && (args.python || args.wheelhouse)) throw usageError("--bundle cannot be combined with --python or --wheelhouse", "the bundle brings its own wheels");
    const env = args.bundle
      ? (await installBundle(args.bundle, { assets: args.assets, onProgress: (l) => log.info(l) })).env
      : await ensurePython({ python: args.python, wheelhouse: args.wheelhouse, assets: args.assets, onProgress: (l) => log.info(l) });
    const t = env.info.torch;
    if (args.json) printJson({ python: env.python, kind: env.kind, info: env.info });
    else
      log.success(`Python ${env.info.python} at ${env.python} (${env.kind === "venv" ? "e2e venv" : "your interpreter"}); torch ${t?.version} (CUDA build ${t?.cudaVersion ?? "none"}; each workflow reports the device it ran on, \`e2e doctor --deep\` checks CUDA now)`);
    return 0;
  },
});
