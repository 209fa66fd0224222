/**
 * Artifacts with a direct store: the MLflow server runs with `--no-serve-artifacts
 * --default-artifact-root DIR`, so a run's artifact_uri names the store itself and the client
 * writes there without the server in the path (for a local directory, MLflow's
 * LocalArtifactRepository copies the file in; for S3 or GCS the client talks to that store). The
 * figures time exactly that: the write of the bytes into the run's artifact directory, and the
 * read back until the last byte is in memory (the page cache may serve it: said in the note);
 * the sha256 is checked after the clock stopped. Side by side with the same sizes through the
 * proxy (`http.artifact.*` of the served server), with a ratio direct / served for each.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MlflowClient } from "../backends/mlflow/client.ts";
import { backendError } from "../util/errors.ts";
import { fromSamples } from "./figure.ts";
import type { SuiteContext } from "./http-suite.ts";
import { artifactRepeatsFor } from "./plan.ts";
import { sizeLabel } from "./sizes.ts";

const mbps = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);

/** The run's artifact directory from its artifact_uri (a path or file:// URI); anything else is not a local direct store. */
export function localArtifactDir(uri: string): string {
  if (uri.startsWith("file://")) return fileURLToPath(uri);
  if (uri.startsWith("/")) return uri;
  throw backendError(`runs store artifacts at ${uri}: the direct-store figures need a local directory (--default-artifact-root DIR)`);
}

export async function directArtifactFigures(ctx: SuiteContext): Promise<void> {
  const client = new MlflowClient(ctx.url, { retries: 0, timeoutMs: 120_000 });
  const exp = await client.createExperiment(`e2e-bench-direct-${randomBytes(3).toString("hex")}`);
  const run = await client.createRun(exp, "artifacts-direct");
  const uri = (await client.getRun(run)).info.artifact_uri;
  if (/^mlflow-artifacts:/.test(uri)) throw backendError(`runs store artifacts at ${uri}: this server proxies artifacts, so it is not the direct-store variant`);
  const root = localArtifactDir(uri);
  for (const size of ctx.plan.artifactSizes) {
    const body = randomBytes(size);
    const ups: number[] = [];
    const downs: number[] = [];
    const repeats = artifactRepeatsFor(ctx.plan, size);
    for (let i = 0; i < repeats; i++) {
      const path = join(root, "bench", `${sizeLabel(size)}-${i}.bin`);
      await mkdir(dirname(path), { recursive: true });
      let t = performance.now();
      await writeFile(path, body);
      ups.push(mbps(size, performance.now() - t));
      t = performance.now();
      const got = await readFile(path);
      downs.push(mbps(size, performance.now() - t));
      const a = createHash("sha256").update(got).digest("hex");
      const b = createHash("sha256").update(body).digest("hex");
      if (a !== b) throw backendError(`direct artifact ${path}: read ${got.length} bytes with sha256 ${a.slice(0, 12)}, wrote ${size} with ${b.slice(0, 12)}`);
    }
    const spec = {
      target: ctx.target, group: "artifacts", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger",
      note: "direct store (--no-serve-artifacts): the client writes into the run's artifact directory and reads it back, no server in the path; a local disk, the page cache may serve the read; sha256 checked after the clock stopped",
      lowSamplesWhy: `${repeats} transfers per size: bounded by the bytes moved`,
    } as const;
    ctx.figure(fromSamples({ ...spec, name: "direct.artifact.upload" }, ups));
    ctx.figure(fromSamples({ ...spec, name: "direct.artifact.download" }, downs));
    ctx.progress(`direct artifacts ${sizeLabel(size)}: ${repeats} written and read`);
  }
}
