/**
 * TensorBoard through MLflow: the adapter logs each run's event files as artifacts under
 * `tensorboard/`; here they are listed and downloaded through the server's artifact API, parsed
 * from those bytes (both CRCs per record) and every point compared at float32 with the manifest.
 * Named `tensorboard.from-mlflow:*`, apart from the direct parse of the local files
 * (src/verify/tensorboard-check.ts, `tensorboard.*`): a pass here says the server holds the event
 * files intact, not only that torch wrote them. Where the server's files are byte for byte the
 * local ones (same names, sizes and sha256, hashed as they stream from the server), their points
 * are the local files' points: those are parsed once for both checks (`parsed`, handed to the
 * local check as Verification.eventFiles). Any difference: the server's copy is downloaded and
 * parsed on its own, as before (at ten million points a parse is tens of seconds).
 */
import type { Manifest, ManifestRun } from "../../verify/manifest.ts";
import { check, type Check } from "../../verify/check.ts";
import { compareTensorboardRun } from "../../verify/tensorboard-check.ts";
import { eventDirOf, findEventFiles, readEventSeries } from "../../verify/tensorboard.ts";
import { isSeries, type Series } from "../../verify/series.ts";
import { FormatError } from "../../util/protobuf.ts";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { formatError } from "../../util/errors.ts";
import { hashFile } from "../../util/fs.ts";
import type { MlflowClient } from "./client.ts";

export const TB_ARTIFACT_DIR = "tensorboard";

/**
 * `workDir`: the workflow's folder (run.tensorboardDir is relative to it), also where the server's
 * copies are downloaded. `parsed`: local event folders parsed here (absolute folder -> scalars).
 */
export async function tensorboardFromServer(client: MlflowClient, manifest: Manifest, workDir?: string, parsed = new Map<string, Record<string, Series>>(), hashed?: (run: ManifestRun) => Hashes | undefined): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of manifest.runs.filter((r) => r.tensorboardDir)) {
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const name = (what: string) => `from-mlflow:${label}${what}`;
    const localDir = workDir ? eventDirOf(run, workDir) : undefined;
    let stored: { scalars: Record<string, Series>; sameAsLocal: boolean };
    try {
      stored = await readStored(client, run, workDir ?? tmpdir(), localDir, parsed, hashed?.(run));
    } catch (err) {
      checks.push(check("tensorboard", name("files"), false, `event files stored with run ${run.runId} cannot be read: ${formatError(err)}`, `${TB_ARTIFACT_DIR}/events.out.tfevents.*`, null));
      continue;
    }
    checks.push(check("tensorboard", name("files"), true, stored.sameAsLocal
      ? "event files downloaded from the MLflow server are byte for byte the local ones (sha256), which parse (both CRCs of every record)"
      : "event files downloaded from the MLflow server parse (both CRCs of every record)"));
    checks.push(...compareTensorboardRun(run, stored.scalars, name, undefined, " (event files as stored on the MLflow server)"));
  }
  return checks;
}

async function readStored(client: MlflowClient, run: ManifestRun, workDir: string, localDir: string | undefined, parsed: Map<string, Record<string, Series>>, hashes?: Hashes): Promise<{ scalars: Record<string, Series>; sameAsLocal: boolean }> {
  const info = await client.getRun(run.runId);
  const listed = (await client.listArtifacts(run.runId, TB_ARTIFACT_DIR)).filter((f) => f.path.split("/").pop()!.includes("tfevents"));
  if (!listed.length) throw new Error(`no event files under ${TB_ARTIFACT_DIR}/ in the run's artifacts`);
  if (localDir && (await sameAsLocal(client, info.info.artifact_uri, listed, localDir, hashes))) {
    let scalars = parsed.get(localDir);
    if (!scalars) {
      try {
        scalars = await readEventSeries(localDir, { wallTimes: false, like: likeManifest(run) });
      } catch (err) {
        // The same bytes as the server's: name the file as the server holds it.
        if (err instanceof FormatError && err.file) throw new FormatError(err.what, err.offset, [TB_ARTIFACT_DIR, ...relative(localDir, err.file).split(sep)].join("/"));
        throw err;
      }
      parsed.set(localDir, scalars);
    }
    return { scalars, sameAsLocal: true };
  }
  return { scalars: await downloadAndParse(client, info.info.artifact_uri, listed, workDir, likeManifest(run)), sameAsLocal: false };
}

/** The manifest's columns of a tag's key: points repeating them at float32 are held by reference. */
const likeManifest = (run: ManifestRun) => (tag: string): Series | undefined => {
  const pts = Object.hasOwn(run.metrics, tag) ? run.metrics[tag] : undefined;
  return pts && isSeries(pts) ? pts : undefined;
};

/** Size and sha256 of run artifacts by path, as the run's reader downloaded them from the server. */
export type Hashes = Record<string, { size: number; sha256: string }>;

/**
 * Whether the server's event files are the local folder's, name for name and byte for byte
 * (`hashes`: those the run's reader already took of the server's bytes, else downloaded here).
 */
async function sameAsLocal(client: MlflowClient, artifactUri: string, listed: { path: string; file_size: number }[], localDir: string, hashes?: Hashes): Promise<boolean> {
  if (!existsSync(localDir)) return false;
  const local = (await findEventFiles(localDir)).map((f) => relative(localDir, f).split(sep).join("/")).sort();
  const remote = listed.map((f) => f.path.slice(TB_ARTIFACT_DIR.length + 1)).sort();
  if (local.length !== remote.length || local.some((f, i) => f !== remote[i])) return false;
  for (const f of listed) {
    const mine = await hashFile(join(localDir, ...f.path.slice(TB_ARTIFACT_DIR.length + 1).split("/")));
    if (mine.size !== f.file_size) return false;
    const theirs = hashes?.[f.path] ?? (await client.downloadArtifact(artifactUri, f.path));
    if (theirs.size !== mine.size || theirs.sha256 !== mine.sha256) return false;
  }
  return true;
}

async function downloadAndParse(client: MlflowClient, artifactUri: string, listed: { path: string }[], workDir: string, like: (tag: string) => Series | undefined): Promise<Record<string, Series>> {
  // Streamed to a temporary folder, then read piece by piece as a local folder is (readEventSeries).
  const tmp = await mkdtemp(join(workDir, "e2e-mlflow-tb-"));
  try {
    for (const f of listed) {
      const dest = join(tmp, f.path);
      await mkdir(dirname(dest), { recursive: true });
      await client.saveArtifact(artifactUri, f.path, dest);
    }
    try {
      return await readEventSeries(join(tmp, TB_ARTIFACT_DIR), { wallTimes: false, like });
    } catch (err) {
      // Name the file as the server holds it, not the temporary copy.
      if (err instanceof FormatError) throw new FormatError(err.what, err.offset, err.file && relative(tmp, err.file).split(sep).join("/"));
      throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
