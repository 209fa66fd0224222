/**
 * What an offline W&B run has stored, judged from W&B's own records (wandb 0.31.0), never from
 * a folder listing alone:
 *
 * - Run files (`run.save`, media): a file counts only when the `.wandb` log has the `files`
 *   record W&B writes for it (FilesItem path, relative to files/; what `wandb sync` uploads) AND
 *   the bytes W&B put in place (files/<path>: a copy, hard link or symlink made by W&B) can be
 *   read. A file in files/ with no record is listed as unrecorded, not stored; a record with no
 *   bytes is unreadable, with the reason.
 * - W&B Artifacts (`run.log_artifact`): the artifact record in the log carries the manifest; each
 *   entry (path, size, digest = base64 md5 of the bytes for MANIFEST_MD5) points at the staged
 *   copy W&B uploads from (local_path, under WANDB_DATA_DIR/artifacts/staging for add_file's
 *   default policy "mutable"; the user's own file for policy "immutable"). An entry counts when
 *   the staged bytes have the entry's size and md5; its sha256 is then what the verifier
 *   compares. A reference entry (add_reference) holds a URI, no bytes: listed, never "stored".
 *   The record's own digest is recomputed (md5 of "wandb-artifact-manifest-v1\n" and each
 *   "path:digest\n" in path order), so an entry dropped from the log shows there too.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ObservedRun } from "../../verify/observed.ts";
import type { WandbArtifactRecord, WandbRecords } from "./records.ts";
import { hashFile } from "../../util/fs.ts";

/** Files the SDK itself writes into files/ (not files of the run). */
const SDK_FILES = new Set([
  "requirements.txt", "wandb-metadata.json", "wandb-summary.json", "config.yaml", "output.log",
  "diff.patch", "conda-environment.yaml", "wandb-job.json",
]);
export const isSdkFile = (rel: string) => SDK_FILES.has(rel) || /^upstream_diff_[0-9a-f]+\.patch$/.test(rel);

export interface StoredEntry {
  path: string;
  size?: number;
  digest: string;
  ref?: string;
  localPath?: string;
  /** sha256 of the staged bytes, when they could be read. */
  sha256?: string;
  /** Why the entry does not count as stored (absent when it does). */
  problem?: string;
}

export interface StoredArtifact {
  name: string;
  type: string;
  aliases: string[];
  digest: string;
  /** The record's digest equals the one recomputed from its entries (MD5 manifests only). */
  digestOk?: boolean;
  entries: StoredEntry[];
  /** By URL: the version's manifest file was read, so reference entries carry their URI. */
  manifestRead?: boolean;
}

export interface StoredFiles {
  /** path -> size and sha256 of the bytes W&B holds for it. */
  files: ObservedRun["artifacts"];
  /** path -> why a recorded file or artifact entry has no usable bytes. */
  unreadable: Record<string, string>;
  sdkFiles: string[];
  /** In files/ but no `files` record: W&B would not upload them. */
  unrecorded: string[];
  artifacts: StoredArtifact[];
}

const hasGlob = (p: string) => /[*?[]/.test(p);

export async function storedFiles(runDir: string, rec: WandbRecords): Promise<StoredFiles> {
  const filesDir = join(runDir, "files");
  const out: StoredFiles = { files: {}, unreadable: {}, sdkFiles: [], unrecorded: [], artifacts: [] };
  const sdkTyped = new Set(rec.files.filter((f) => f.type === 1).map((f) => f.path));
  const recorded = rec.files.filter((f) => f.type !== 1).map((f) => f.path);
  const literal = new Set(recorded.filter((p) => !hasGlob(p)));
  const globs = recorded.filter(hasGlob).map((p) => new Bun.Glob(p));
  const isRecorded = (rel: string) => literal.has(rel) || globs.some((g) => g.match(rel));

  const present = new Set<string>();
  for (const { rel, dangling } of await listFiles(filesDir)) {
    present.add(rel);
    if (sdkTyped.has(rel) || isSdkFile(rel)) {
      out.sdkFiles.push(rel);
      continue;
    }
    if (!isRecorded(rel)) {
      out.unrecorded.push(rel);
      continue;
    }
    if (dangling) {
      out.unreadable[rel] = `files/${rel} is a symlink whose target is gone (W&B links saved files unless symlink=False; the source was deleted before upload)`;
      continue;
    }
    const { size, sha256 } = await hashFile(join(filesDir, rel));
    out.files[rel] = { size, sha256 };
  }
  for (const p of literal) {
    if (!present.has(p) && !isSdkFile(p)) out.unreadable[p] = `the .wandb log has a files record for ${p} but files/${p} is missing: W&B has no bytes to upload`;
  }

  for (const a of rec.artifacts) out.artifacts.push(await storedArtifact(a));
  out.sdkFiles.sort();
  out.unrecorded.sort();
  return out;
}

async function storedArtifact(a: WandbArtifactRecord): Promise<StoredArtifact> {
  const md5 = !a.digestAlgorithm || a.digestAlgorithm === "MANIFEST_MD5";
  const entries: StoredEntry[] = [];
  for (const e of a.entries) {
    const entry: StoredEntry = { path: e.path, size: e.size, digest: e.digest, ref: e.ref, localPath: e.localPath };
    entries.push(entry);
    if (e.ref) {
      entry.problem = `a reference (${e.ref}): W&B stores the URI, not the bytes`;
      continue;
    }
    if (!e.localPath) {
      entry.problem = `artifact ${a.name} entry ${e.path} names no staged copy (local_path) in the .wandb log`;
      continue;
    }
    let data: { size: number; sha256: string; md5?: string };
    try {
      data = await hashFile(e.localPath, { md5: true });
    } catch (err) {
      entry.problem = `the staged copy ${e.localPath} of artifact ${a.name} entry ${e.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? err}): W&B has nothing to upload`;
      continue;
    }
    entry.sha256 = data.sha256;
    if (data.size !== (e.size ?? 0)) entry.problem = `artifact ${a.name} entry ${e.path}: staged copy has ${data.size} bytes, the manifest says ${e.size ?? 0}`;
    else if (!md5) entry.problem = `artifact ${a.name} uses ${a.digestAlgorithm}; e2e checks MANIFEST_MD5 digests only, so the staged bytes cannot be tied to the manifest`;
    else if (data.md5 !== e.digest) entry.problem = `artifact ${a.name} entry ${e.path}: md5 of the staged copy ${data.md5} != manifest digest ${e.digest}`;
  }
  const digestOk = md5 ? manifestDigest(a.entries) === a.digest : undefined;
  return { name: a.name, type: a.type, aliases: a.aliases, digest: a.digest, digestOk, entries };
}

/** W&B's ArtifactManifestV1.digest() for MANIFEST_MD5. */
export function manifestDigest(entries: { path: string; digest: string }[]): string {
  const h = createHash("md5").update("wandb-artifact-manifest-v1\n");
  for (const e of [...entries].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))) h.update(`${e.path}:${e.digest}\n`);
  return h.digest("hex");
}

async function listFiles(dir: string, rel = ""): Promise<{ rel: string; dangling: boolean }[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, rel));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: { rel: string; dangling: boolean }[] = [];
  for (const name of names.sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const s = await stat(join(dir, r)).catch(() => undefined); // follows W&B's symlinks
    if (!s) {
      if ((await lstat(join(dir, r))).isSymbolicLink()) out.push({ rel: r, dangling: true });
    } else if (s.isDirectory()) out.push(...(await listFiles(dir, r)));
    else if (s.isFile()) out.push({ rel: r, dangling: false });
  }
  return out;
}
