import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { cp, mkdir, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { assetRoot } from "../assets/bundle.ts";
import { usageError } from "../util/errors.ts";
import { log } from "../util/log.ts";

const extract = defineCommand({
  meta: { name: "extract", description: "Write the embedded workflows, adapter and compose files to DIR, to read or change (then run with --assets DIR)" },
  args: { dir: { type: "positional", description: "Target folder (must be empty or absent)", required: true } },
  async run({ args }) {
    const dest = resolve(args.dir);
    const existing = await readdir(dest).catch(() => []);
    if (existing.length) throw usageError(`${dest} is not empty`, "give an empty or new folder");
    const src = await assetRoot();
    await mkdir(dest, { recursive: true });
    for (const sub of ["python", "assets"])
      await cp(join(src.root, sub), join(dest, sub), { recursive: true, filter: (p) => !p.includes("__pycache__") });
    log.success(`assets written to ${dest}; run with --assets ${dest}`);
    return 0;
  },
});

export default defineCommand({
  meta: COMMANDS.assets,
  subCommands: { extract },
});
