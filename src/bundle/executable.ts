/**
 * The executable a bundle carries: the running program when it is the compiled one, a file the
 * user names (another --target from build.ts, for a machine of another kind), or, when run from
 * a checkout, a fresh build of this checkout so the bundle never carries a stale dist/e2e.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { envError, usageError } from "../util/errors.ts";

export function isCompiled(): boolean {
  return Bun.isStandaloneExecutable ?? (import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN"));
}

/** Put the executable at `dest` (mode 755). Returns where it came from, for the log. */
export async function placeExecutable(dest: string, from?: string): Promise<string> {
  if (from) {
    if (!existsSync(from)) throw usageError(`--executable ${from} does not exist`, "build one with `bun build.ts --target ...` or drop --executable");
    await copyFile(from, dest);
  } else if (isCompiled()) {
    from = process.execPath;
    await copyFile(from, dest);
  } else {
    const root = resolve(import.meta.dir, "..", "..");
    from = `a build of ${root}`;
    const r = spawnSync(process.execPath, [join(root, "build.ts"), "--outfile", dest], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw envError(`building the executable failed (exit ${r.status})`, "run `bun build.ts` in the checkout and fix what it says", r.stderr.slice(-3000));
  }
  await chmod(dest, 0o755);
  return from;
}
