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
import { parseEventFile, type ScalarPoint } from "../../verify/tensorboard.ts";
import { formatError } from "../../util/errors.ts";
import type { MlflowClient } from "./client.ts";

export const TB_ARTIFACT_DIR = "tensorboard";

/** tag -> points from event files given as (path under tensorboard/, bytes), as readEventFiles reads a folder. */
export function scalarsFromFiles(files: { path: string; bytes: Uint8Array }[]): Record<string, ScalarPoint[]> {
  const out: Record<string, ScalarPoint[]> = {};
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const dir = f.path.split("/").slice(0, -1).join("/");
    const prefix = dir ? `${dir}/` : "";
    for (const ev of parseEventFile(f.bytes, `${TB_ARTIFACT_DIR}/${f.path}`))
      for (const s of ev.scalars) (out[prefix + s.tag] ??= []).push({ step: ev.step, value: s.value, wallTime: ev.wallTime });
  }
  return out;
}

export async function tensorboardFromServer(client: MlflowClient, manifest: Manifest): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of manifest.runs.filter((r) => r.tensorboardDir)) {
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const name = (what: string) => `from-mlflow:${label}${what}`;
    let scalars: Record<string, ScalarPoint[]>;
    try {
      scalars = await readStored(client, run);
    } catch (err) {
      checks.push(check("tensorboard", name("files"), false, `event files stored with run ${run.runId} cannot be read: ${formatError(err)}`, `${TB_ARTIFACT_DIR}/events.out.tfevents.*`, null));
      continue;
    }
    checks.push(check("tensorboard", name("files"), true, "event files downloaded from the MLflow server parse (both CRCs of every record)"));
    checks.push(...compareTensorboardRun(run, scalars, name, undefined, " (event files as stored on the MLflow server)"));
  }
  return checks;
}

async function readStored(client: MlflowClient, run: ManifestRun): Promise<Record<string, ScalarPoint[]>> {
  const info = await client.getRun(run.runId);
  const listed = (await client.listArtifacts(run.runId, TB_ARTIFACT_DIR)).filter((f) => f.path.split("/").pop()!.includes("tfevents"));
  if (!listed.length) throw new Error(`no event files under ${TB_ARTIFACT_DIR}/ in the run's artifacts`);
  const files = [];
  for (const f of listed)
    files.push({ path: f.path.slice(TB_ARTIFACT_DIR.length + 1), bytes: await client.readArtifact(info.info.artifact_uri, f.path) });
  return scalarsFromFiles(files);
}
