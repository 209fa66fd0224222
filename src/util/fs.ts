import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
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

const HASH_PIECE = 1 << 20;

/**
 * A file's size and sha256 (and md5 in base64, W&B's artifact digest, when asked), read through
 * one reused 1 MiB buffer. A stream would hand over a fresh Buffer per chunk: hashing a 481 MB
 * event file left about 500 MB of ArrayBuffers for the collector, e2e's largest peak at 10M points.
 */
export async function hashFile(path: string, o: { md5?: boolean } = {}): Promise<{ size: number; sha256: string; md5?: string }> {
  const sha = createHash("sha256");
  const md5 = o.md5 ? createHash("md5") : undefined;
  const buf = new Uint8Array(HASH_PIECE);
  const fh = await open(path, "r");
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (!bytesRead) break;
      const piece = buf.subarray(0, bytesRead);
      sha.update(piece);
      md5?.update(piece);
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { size, sha256: sha.digest("hex"), ...(md5 ? { md5: md5.digest("base64") } : {}) };
}

export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const { sha256, size } = await hashFile(path);
  return { sha256, size };
}

export const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/** A temporary folder removed at teardown unless `keep` is set. */
export async function makeWorkDir(prefix: string, keep: boolean): Promise<string> {
  const dir = await mkdtemp(join(tempRoot(), `${prefix}-`));
  if (!keep) onTeardown(`work folder ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}
