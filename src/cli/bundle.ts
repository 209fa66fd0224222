import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, printJson, pythonArgs } from "./_shared.ts";
import { createBundle } from "../bundle/create.ts";
import { installBundle } from "../bundle/install.ts";
import { parseStacks } from "../bundle/images.ts";
import { log } from "../util/log.ts";

const create = defineCommand({
  meta: { name: "create", description: "Make an offline bundle: the executable, a wheelhouse, optionally Docker images, with checksums" },
  args: {
    dir: { type: "positional", required: true, description: "New (or empty) folder to write the bundle to", valueHint: "DIR" },
    platform: { type: "string", description: "Wheel platform of the offline machine (default: this machine's, manylinux_2_28_<arch> on Linux)", valueHint: "TAG" },
    "python-version": { type: "string", description: "Python of the offline machine, MAJOR.MINOR (default: this machine's python3)", valueHint: "3.11" },
    images: { type: "string", description: "Also save the Docker images of these stacks: mlflow,clearml,wandb or all", valueHint: "STACKS" },
    executable: { type: "string", description: "Carry this executable instead of the running one (another build.ts --target)", valueHint: "PATH" },
    assets: pythonArgs.assets,
    ...jsonArgs,
  },
  async run({ args }) {
    const started = Date.now();
    const m = await createBundle({
      dir: args.dir,
      platform: args.platform,
      pythonVersion: args["python-version"],
      stacks: args.images ? parseStacks(args.images) : undefined,
      executable: args.executable,
      assets: args.assets,
      onProgress: (l) => log.info(l),
    });
    const bytes = m.files.reduce((n, f) => n + f.size, 0);
    if (args.json) printJson(m);
    else log.success(`bundle ${args.dir}: ${m.files.length} files, ${(bytes / 2 ** 20).toFixed(0)} MiB, in ${((Date.now() - started) / 1000).toFixed(0)} s; install it with \`e2e bundle install DIR\``);
    return 0;
  },
});

const install = defineCommand({
  meta: { name: "install", description: "Check a bundle's checksums, make the venv from its wheels with no index, load its images" },
  args: {
    dir: { type: "positional", required: true, description: "The bundle folder", valueHint: "DIR" },
    assets: pythonArgs.assets,
    ...jsonArgs,
  },
  async run({ args }) {
    const r = await installBundle(args.dir, { assets: args.assets, onProgress: (l) => log.info(l) });
    if (args.json) printJson({ python: r.env.python, info: r.env.info, images: r.images });
    else log.success(`bundle installed: Python ${r.env.info.python} at ${r.env.python}, torch ${r.env.info.torch?.version}${r.images.length ? `; images ${r.images.join(", ")}` : ""}`);
    return 0;
  },
});

export default defineCommand({
  meta: COMMANDS.bundle,
  subCommands: { create, install },
});
