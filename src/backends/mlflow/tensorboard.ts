/**
 * TensorBoard through MLflow: the adapter logs each run's event files as artifacts under
 * `tensorboard/`; here they are listed and downloaded through the server's artifact API, parsed
 * from those bytes (both CRCs per record) and every point compared at float32 with the manifest.
 * Named `tensorboard.from-mlflow:*`, apart from the direct parse of the local files
 * (src/verify/tensorboard-check.ts, `tensorboard.*`): a pass here says the server holds the event
 * files intact, not only that torch wrote them.
 */
import type { Manifest, ManifestRun } from "../../verify/manifest.ts";
import { check, type Check } from "../../verify/check.ts";
import { compareTensorboardRun } from "../../verify/tensorboard-check.ts";
import { readEventSeries } from "../../verify/tensorboard.ts";
import type { Series } from "../../verify/series.ts";
import { FormatError } from "../../util/protobuf.ts";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { formatError } from "../../util/errors.ts";
import type { MlflowClient } from "./client.ts";

export const TB_ARTIFACT_DIR = "tensorboard";

export async function tensorboardFromServer(client: MlflowClient, manifest: Manifest, workDir = tmpdir()): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of manifest.runs.filter((r) => r.tensorboardDir)) {
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const name = (what: string) => `from-mlflow:${label}${what}`;
    let scalars: Record<string, Series>;
    try {
      scalars = await readStored(client, run, workDir);
    } catch (err) {
      checks.push(check("tensorboard", name("files"), false, `event files stored with run ${run.runId} cannot be read: ${formatError(err)}`, `${TB_ARTIFACT_DIR}/events.out.tfevents.*`, null));
      continue;
    }
    checks.push(check("tensorboard", name("files"), true, "event files downloaded from the MLflow server parse (both CRCs of every record)"));
    checks.push(...compareTensorboardRun(run, scalars, name, undefined, " (event files as stored on the MLflow server)"));
  }
  return checks;
}

async function readStored(client: MlflowClient, run: ManifestRun, workDir: string): Promise<Record<string, Series>> {
  const info = await client.getRun(run.runId);
  const listed = (await client.listArtifacts(run.runId, TB_ARTIFACT_DIR)).filter((f) => f.path.split("/").pop()!.includes("tfevents"));
  if (!listed.length) throw new Error(`no event files under ${TB_ARTIFACT_DIR}/ in the run's artifacts`);
  // Streamed to a temporary folder, then read piece by piece as a local folder is (readEventSeries).
  const tmp = await mkdtemp(join(workDir, "e2e-mlflow-tb-"));
  try {
    for (const f of listed) {
      const dest = join(tmp, f.path);
      await mkdir(dirname(dest), { recursive: true });
      await client.saveArtifact(info.info.artifact_uri, f.path, dest);
    }
    try {
      return await readEventSeries(join(tmp, TB_ARTIFACT_DIR), { wallTimes: false });
    } catch (err) {
      // Name the file as the server holds it, not the temporary copy.
      if (err instanceof FormatError) throw new FormatError(err.what, err.offset, err.file && relative(tmp, err.file).split(sep).join("/"));
      throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
