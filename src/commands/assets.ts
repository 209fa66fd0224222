/** `e2e assets extract DIR`: the embedded templates, to read or change (then run with --assets DIR). */
import { cp, mkdir, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { assetRoot } from "../assets/bundle.ts";
import { ExitCode, usageError } from "../util/errors.ts";
import { log } from "../util/log.ts";

export async function extractAssetsCommand(dir: string): Promise<number> {
  const dest = resolve(dir);
  const existing = await readdir(dest).catch(() => []);
  if (existing.length) throw usageError(`${dest} is not empty`, "give an empty or new folder");
  const src = await assetRoot();
  await mkdir(dest, { recursive: true });
  for (const sub of ["python", "assets"])
    await cp(join(src.root, sub), join(dest, sub), { recursive: true, filter: (p) => !p.includes("__pycache__") });
  log.success(`assets written to ${dest}; run with --assets ${dest}`);
  return ExitCode.ok;
}
