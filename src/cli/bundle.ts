import { defineCommand } from "citty";
import { bundleCreateCommand, bundleInstallCommand, STACKS_HELP } from "../commands/bundle.ts";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs } from "./_shared.ts";

const create = defineCommand({
  meta: { name: "create", description: "Make an offline bundle: the executable, a wheelhouse, optionally Docker images, with checksums" },
  args: {
    dir: { type: "positional", required: true, description: "New (or empty) folder to write the bundle to", valueHint: "DIR" },
    platform: { type: "string", description: "Wheel platform of the offline machine (default: this machine's, manylinux_2_28_<arch> on Linux)", valueHint: "TAG" },
    "python-version": { type: "string", description: "Python of the offline machine, MAJOR.MINOR (default: this machine's python3)", valueHint: "3.11" },
    images: { type: "string", description: `Also save the Docker images of these stacks: ${STACKS_HELP}`, valueHint: "STACKS" },
    executable: { type: "string", description: "Carry this executable instead of the running one (another build.ts --target)", valueHint: "PATH" },
    assets: pythonArgs.assets,
    ...jsonArgs,
  },
  run: ({ args }) =>
    bundleCreateCommand({ dir: args.dir, platform: args.platform, pythonVersion: args["python-version"], images: args.images, executable: args.executable, assets: args.assets, json: args.json }),
});

const install = defineCommand({
  meta: { name: "install", description: "Check a bundle's checksums, make the venv from its wheels with no index, load its images" },
  args: {
    dir: { type: "positional", required: true, description: "The bundle folder", valueHint: "DIR" },
    assets: pythonArgs.assets,
    ...jsonArgs,
  },
  run: ({ args }) => bundleInstallCommand({ dir: args.dir, assets: args.assets, json: args.json }),
});

export default defineCommand({
  meta: COMMANDS.bundle,
  subCommands: { create, install },
});
