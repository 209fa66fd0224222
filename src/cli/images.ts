import { defineCommand } from "citty";
import { imagesLoadCommand, imagesSaveCommand, STACKS_HELP } from "../commands/images.ts";
import { COMMANDS } from "./meta.ts";
import { jsonArgs } from "./_shared.ts";

const save = defineCommand({
  meta: { name: "save", description: "Save the Docker images of stacks to one tarball (docker save)" },
  args: {
    file: { type: "positional", required: true, description: "Tarball to write", valueHint: "FILE" },
    stack: { type: "string", description: `Stacks whose images to save: ${STACKS_HELP}`, default: "mlflow", valueHint: "STACKS" },
    ...jsonArgs,
  },
  run: ({ args }) => imagesSaveCommand({ file: args.file, stack: args.stack, json: args.json }),
});

const load = defineCommand({
  meta: { name: "load", description: "Load images from a tarball made by `e2e images save` or `docker save`" },
  args: {
    file: { type: "positional", required: true, description: "Tarball to read", valueHint: "FILE" },
    ...jsonArgs,
  },
  run: ({ args }) => imagesLoadCommand({ file: args.file, json: args.json }),
});

export default defineCommand({
  meta: COMMANDS.images,
  subCommands: { save, load },
});
