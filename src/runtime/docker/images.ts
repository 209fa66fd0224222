/**
 * Images: which ones a stack lacks (reported before anything starts; nothing is ever pulled
 * implicitly), and moving images to an air-gapped machine as a tarball through the engine API
 * (`docker save` / `docker load` equivalents).
 */
import type Docker from "dockerode";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";

export class MissingImagesError extends Error {
  override name = "MissingImagesError";
  constructor(readonly images: string[], hint?: string) {
    super(
      `missing image${images.length > 1 ? "s" : ""}: ${images.join(", ")}` +
        (hint ? `: ${hint}` : ": pull them, `e2e images load FILE`, or point the E2E_*_IMAGE variables at local images"),
    );
  }
}

function statusOf(e: unknown): number | undefined {
  return e && typeof e === "object" && typeof (e as { statusCode?: unknown }).statusCode === "number"
    ? (e as { statusCode: number }).statusCode
    : undefined;
}

/** The images of `images` that the engine does not have, in the given order. */
export async function missingImages(docker: Docker, images: readonly string[]): Promise<string[]> {
  const unique = [...new Set(images)];
  const present = await Promise.all(
    unique.map(async (name) => {
      try {
        await docker.getImage(name).inspect();
        return true;
      } catch (e) {
        if (statusOf(e) === 404) return false;
        throw e;
      }
    }),
  );
  return unique.filter((_, i) => !present[i]);
}

/** Throws MissingImagesError naming every missing image at once. */
export async function requireImages(docker: Docker, images: readonly string[], hint?: string): Promise<void> {
  const missing = await missingImages(docker, images);
  if (missing.length) throw new MissingImagesError(missing, hint);
}

/** Save images (with their tags) to one tarball, as `docker save` does. Returns the size. */
export async function saveImages(docker: Docker, images: readonly string[], file: string): Promise<{ file: string; bytes: number; images: string[] }> {
  const list = [...new Set(images)];
  if (!list.length) throw new Error("images save: no images given");
  await requireImages(docker, list, "nothing to save");
  const tmp = `${file}.partial-${process.pid}`;
  // GET /images/get?names=a&names=b: one tarball, shared layers once.
  const stream = (await (docker as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages({
    names: list,
  })) as NodeJS.ReadableStream;
  try {
    await pipeline(stream, createWriteStream(tmp));
    const { rename } = await import("node:fs/promises");
    await rename(tmp, file);
  } catch (e) {
    const { rm } = await import("node:fs/promises");
    await rm(tmp, { force: true });
    throw e;
  }
  return { file, bytes: (await stat(file)).size, images: list };
}

/** Load a tarball made by saveImages or `docker save`. Returns the image names the engine reports. */
export async function loadImages(docker: Docker, file: string): Promise<string[]> {
  try {
    await stat(file);
  } catch {
    throw new Error(`images load: ${file}: no such file`);
  }
  const res = await docker.loadImage(createReadStream(file), { quiet: true } as {});
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
  const loaded: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.error || msg.errorDetail) throw new Error(`images load: ${file}: ${msg.errorDetail?.message ?? msg.error}`);
    const m = /Loaded image(?: ID)?: (\S+)/.exec(msg.stream ?? "");
    if (m) loaded.push(m[1]!);
  }
  return loaded;
}
