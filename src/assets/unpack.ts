/**
 * Unpack the embedded zip into the cache under its content hash: into a temporary folder first,
 * then renamed into place under a lock (src/util/cache-entry.ts), so two runs never see half an
 * unpack. Entries that would land outside the folder, links, and oversized archives are refused.
 */
import unzipper from "unzipper";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { ensureCacheEntry } from "../util/cache-entry.ts";
import { E2EError, ExitCode } from "../util/errors.ts";
import { log } from "../util/log.ts";

export const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

export class UnsafeArchiveError extends E2EError {
  constructor(message: string) {
    super(message, "the archive is damaged or hostile; rebuild it or remove it", ExitCode.usage);
  }
}

/** Resolve an archive entry name under `root`, or throw if it would escape it. */
export function safeEntryPath(root: string, name: string): string {
  if (name.includes("\0")) throw new UnsafeArchiveError(`zip entry has a NUL byte: ${JSON.stringify(name)}`);
  const normalized = name.replace(/\\/g, "/");
  if (normalized.startsWith("/") || /^[a-zA-Z]:/.test(normalized))
    throw new UnsafeArchiveError(`zip entry has an absolute path: ${name}`);
  const target = resolve(root, normalized);
  const base = resolve(root);
  if (target !== base && !target.startsWith(base + sep))
    throw new UnsafeArchiveError(`zip entry escapes the target folder: ${name}`);
  return target;
}

/** Extract every entry of `zip` into `dest` (which must not exist yet, or be empty). */
export async function extractZip(zip: Buffer, dest: string, maxBytes = MAX_UNPACKED_BYTES): Promise<number> {
  const dir = await unzipper.Open.buffer(zip);
  let total = 0;
  for (const entry of dir.files) {
    const target = safeEntryPath(dest, entry.path);
    // Upper 16 bits of the external attributes hold the Unix mode; 0o120000 is a symlink.
    const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
    if (mode === 0o120000) throw new UnsafeArchiveError(`zip entry is a symbolic link: ${entry.path}`);
    if (entry.type === "Directory") {
      await mkdir(target, { recursive: true });
      continue;
    }
    total += entry.uncompressedSize;
    if (total > maxBytes) throw new UnsafeArchiveError(`zip unpacks to more than ${maxBytes} bytes`);
    const data = await entry.buffer();
    if (data.length !== entry.uncompressedSize) throw new UnsafeArchiveError(`zip entry size mismatch: ${entry.path}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data, { mode: (entry.externalFileAttributes >>> 16) & 0o111 ? 0o755 : 0o644 });
  }
  return total;
}

/** Unpack `zip` once to `<cacheRoot>/<hash>`; returns that folder. Safe against concurrent runs. */
export async function unpackOnce(zip: Buffer, hash: string, cacheRoot: string): Promise<string> {
  const r = await ensureCacheEntry({
    dir: join(cacheRoot, hash),
    what: "the assets",
    isComplete: (d) => exists(join(d, ".complete")),
    build: async (tmp) => {
      await extractZip(zip, tmp);
      await writeFile(join(tmp, ".complete"), `${hash}\n`);
    },
    onWait: (h, what) => log.info(`waiting for another e2e (pid ${h.pid}) unpacking ${what}...`),
  });
  return r.dir;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
