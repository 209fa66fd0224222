import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { resolve } from "node:path";
import { loadTarball, parseStacks, saveStacks } from "../bundle/images.ts";
import { jsonArgs, printJson } from "./_shared.ts";
import { log } from "../util/log.ts";

const save = defineCommand({
  meta: { name: "save", description: "Save the Docker images of stacks to one tarball (docker save)" },
  args: {
    file: { type: "positional", required: true, description: "Tarball to write", valueHint: "FILE" },
    stack: { type: "string", description: "Stacks whose images to save: mlflow,clearml,wandb or all", default: "mlflow", valueHint: "STACKS" },
    ...jsonArgs,
  },
  async run({ args }) {
    const r = await saveStacks(resolve(args.file), parseStacks(args.stack));
    if (args.json) printJson({ file: resolve(args.file), ...r });
    else log.success(`saved ${r.images.join(", ")} to ${args.file} (${(r.bytes / 2 ** 20).toFixed(0)} MiB)`);
    return 0;
  },
});

const load = defineCommand({
  meta: { name: "load", description: "Load images from a tarball made by `e2e images save` or `docker save`" },
  args: {
    file: { type: "positional", required: true, description: "Tarball to read", valueHint: "FILE" },
    ...jsonArgs,
  },
  async run({ args }) {
    const images = await loadTarball(resolve(args.file));
    if (args.json) printJson({ images });
    else log.success(`loaded ${images.join(", ") || "(no tagged images)"}`);
    return 0;
  },
});

export default defineCommand({
  meta: COMMANDS.images,
  subCommands: { save, load },
});
