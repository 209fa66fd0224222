import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, writeFile, mkdtemp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { onTeardown } from "../runtime/lifecycle.ts";
import { tempRoot } from "./paths.ts";

/** Write a file so that readers see the old or the new content, never half of it. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}

export const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/** A temporary folder removed at teardown unless `keep` is set. */
export async function makeWorkDir(prefix: string, keep: boolean): Promise<string> {
  const dir = await mkdtemp(join(tempRoot(), `${prefix}-`));
  if (!keep) onTeardown(`work folder ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}
