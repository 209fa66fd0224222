/**
 * Artifact transfer, timed with exactly what it names: the upload is the PUT until the server
 * answered; the download is the GET until the last byte is in memory. The bytes are checked
 * (sha256 for MLflow, the length for the sink) after the clock stops. MLflow and the loopback sink
 * go through the same client, the load generator's putBytes/getBytes (HTTP/1.1 on a kept socket,
 * http1.ts, with the server's credentials), so their figures compare. Not ofetch (MlflowClient's): its response handling halved large downloads from
 * the sink (about 0.9 against 1.9 GB/s for 4 MB, measured side by side), which put the harness
 * ceiling at about 30% of the raw loopback.
 */
import { createHash, randomBytes } from "node:crypto";
import type { MlflowClient } from "../backends/mlflow/client.ts";
import { backendError } from "../util/errors.ts";
import { fromSamples, type Figure, type Target } from "./figure.ts";
import { describeFault } from "./faults.ts";
import { closeIdle } from "./http1.ts";
import { getBytes, MAX_FAILS_IN_A_ROW, putBytes } from "./load.ts";
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
  /** Run before each repetition's upload (the harness's raw tiers), so both share the moment's load. */
  beside?: (size: number, body: Uint8Array, i: number) => Promise<void>;
}

/**
 * Upload and download MB/s per size. A transfer that fails (the server's answer or no answer) is
 * counted in its figure (errors, note) and reported through `failed`, and the next one goes on;
 * MAX_FAILS_IN_A_ROW in a row throw. A download whose bytes differ is a wrong answer, not a
 * transient one: it throws at once. An upload that failed is not downloaded.
 */
export async function artifactFigures(t: ArtifactTarget, sizes: readonly number[], repeatsFor: (size: number) => number, progress: (m: string) => void, failed?: (stage: string, message: string) => void): Promise<Figure[]> {
  const out: Figure[] = [];
  let inARow = 0;
  const attempt = async <T>(fn: () => Promise<T>, errors: { n: number; first?: string }): Promise<T | undefined> => {
    try {
      const r = await fn();
      inARow = 0;
      return r;
    } catch (err) {
      if ((err as { exitCode?: number }).exitCode === 130) throw err;
      errors.n++;
      errors.first ??= describeFault(err);
      if (++inARow >= MAX_FAILS_IN_A_ROW) throw Object.assign(new Error(`${inARow} artifact transfers in a row failed: ${describeFault(err)}`), { cause: err });
      return undefined;
    }
  };
  try {
    for (const size of sizes) out.push(...(await sizeFigures(size)));
  } finally {
    // Kept connections go with the stage: none left to hold the process or the server.
    closeIdle();
  }
  return out;

  async function sizeFigures(size: number): Promise<Figure[]> {
    const repeats = repeatsFor(size);
    const body = randomBytes(size);
    // The download's destination, in memory before any clock starts and reused (getBytes).
    const into = Buffer.allocUnsafe(size).fill(0);
    const up: number[] = [];
    const down: number[] = [];
    const upErr = { n: 0 } as { n: number; first?: string };
    const downErr = { n: 0 } as { n: number; first?: string };
    for (let i = 0; i < repeats; i++) {
      await t.beside?.(size, body, i);
      const path = t.uploadPath(size, i);
      const url = (p: string) => t.client.baseUrl.replace(/\/$/, "") + t.client.artifactUrl(t.uri, p);
      // Removed afterwards whether or not the PUT succeeded (a failed one may have stored it).
      t.written?.push(path);
      let start = performance.now();
      if ((await attempt(() => putBytes(url(path), body).then(() => true), upErr)) === undefined) continue;
      up.push(mbps(size, performance.now() - start));
      const from = t.downloadPath(size, i);
      start = performance.now();
      const got = await attempt(() => getBytes(url(from), into), downErr);
      if (got === undefined) continue;
      down.push(mbps(size, performance.now() - start));
      t.check(got, body, from);
    }
    for (const [what, e] of [["upload", upErr], ["download", downErr]] as const)
      if (e.n) failed?.(`artifact ${what} ${sizeLabel(size)}`, `${e.n} of ${repeats} transfers failed; the figure rests on the others (first: ${e.first})`);
    if (!up.length) throw new Error(`every upload of ${sizeLabel(size)} failed: ${upErr.first}`);
    if (!down.length) throw new Error(`every download of ${sizeLabel(size)} failed: ${downErr.first}`);
    const spec = { target: t.target, group: "artifacts", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger", note: t.note, lowSamplesWhy: `${repeats} transfers per size: bounded by the bytes moved` } as const;
    progress(`artifacts ${sizeLabel(size)}: ${repeats} up and down`);
    return [fromSamples({ ...spec, name: "http.artifact.upload", ...(upErr.n ? { errors: upErr.n } : {}) }, up), fromSamples({ ...spec, name: "http.artifact.download", ...(downErr.n ? { errors: downErr.n } : {}) }, down)];
  }
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
