/**
 * Artifact transfer, timed with exactly what it names: the upload is the PUT until the server
 * answered; the download is the GET until the last byte is in memory. The bytes are checked
 * (sha256 for MLflow, the length for the sink) after the clock stops. MLflow and the loopback sink
 * go through the same client, the load generator's fetch (with the server's credentials), so their
 * figures compare. Not ofetch (MlflowClient's): its response handling halved large downloads from
 * the sink (about 0.9 against 1.9 GB/s for 4 MB, measured side by side), which put the harness
 * ceiling at about 30% of the raw loopback.
 */
import { createHash, randomBytes } from "node:crypto";
import type { MlflowClient } from "../backends/mlflow/client.ts";
import { backendError } from "../util/errors.ts";
import { fromSamples, type Figure, type Target } from "./figure.ts";
import { getBytes, putBytes } from "./load.ts";
import { sizeLabel } from "./sizes.ts";

const mbps = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);

export interface ArtifactTarget {
  target: Target;
  client: MlflowClient;
  /** The run's artifact root (mlflow-artifacts:/...). */
  uri: string;
  /** Path to upload to, and the one to download from (the sink serves /bytes/N). */
  uploadPath(size: number, i: number): string;
  downloadPath(size: number, i: number): string;
  /** Whether the downloaded bytes are the uploaded ones (outside the timed region). */
  check(got: Uint8Array, sent: Uint8Array, path: string): void;
  note: string;
  /** Paths written, for clean-up. */
  written?: string[];
}

export async function artifactFigures(t: ArtifactTarget, sizes: readonly number[], repeats: number, progress: (m: string) => void): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const size of sizes) {
    const body = randomBytes(size);
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const path = t.uploadPath(size, i);
      const url = (p: string) => t.client.baseUrl.replace(/\/$/, "") + t.client.artifactUrl(t.uri, p);
      let start = performance.now();
      await putBytes(url(path), body);
      up.push(mbps(size, performance.now() - start));
      t.written?.push(path);
      const from = t.downloadPath(size, i);
      start = performance.now();
      const got = await getBytes(url(from));
      down.push(mbps(size, performance.now() - start));
      t.check(got, body, from);
    }
    const spec = { target: t.target, group: "artifacts", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger", note: t.note, lowSamplesWhy: `${repeats} transfers per size: bounded by the bytes moved` } as const;
    out.push(fromSamples({ ...spec, name: "http.artifact.upload" }, up), fromSamples({ ...spec, name: "http.artifact.download" }, down));
    progress(`artifacts ${sizeLabel(size)}: ${repeats} up and down`);
  }
  return out;
}

export const sha256Check = (got: Uint8Array, sent: Uint8Array, path: string) => {
  const a = createHash("sha256").update(got).digest("hex");
  const b = createHash("sha256").update(sent).digest("hex");
  if (a !== b || got.length !== sent.length)
    throw backendError(`artifact ${path}: downloaded ${got.length} bytes with sha256 ${a.slice(0, 12)}, uploaded ${sent.length} with ${b.slice(0, 12)}`);
};

export const lengthCheck = (got: Uint8Array, sent: Uint8Array, path: string) => {
  if (got.length !== sent.length) throw backendError(`sink ${path}: ${got.length} bytes, expected ${sent.length}`);
};
