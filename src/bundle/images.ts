/**
 * The Docker images of the chosen stacks, one tarball per stack (images/<stack>.tar), saved and
 * loaded through the engine API. Names follow the E2E_*_IMAGE variables at creation time, so a
 * bundle of locally built stand-ins needs the same variables on the machine that loads it.
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { EMBEDDED_STACK_NAMES, embeddedStackImages, type EmbeddedStackName } from "../runtime/docker/embedded.ts";
import { loadImages, MissingImagesError, saveImages } from "../runtime/docker/images.ts";
import { engineOrThrow } from "../runtime/docker/start.ts";
import { envError, usageError } from "../util/errors.ts";

/** For --help: the stacks `--stack`/`--images` accept. */
export const STACKS_HELP = `${EMBEDDED_STACK_NAMES.join(",")} or all`;

export type StackImages = Record<string, { file: string; images: string[] }>;

/** "mlflow,clearml" -> checked stack names; `all` means every embedded stack. */
export function parseStacks(list: string): EmbeddedStackName[] {
  const names = list.split(",").map((s) => s.trim()).filter(Boolean);
  const out = names.includes("all") ? [...EMBEDDED_STACK_NAMES] : names;
  for (const n of out)
    if (!EMBEDDED_STACK_NAMES.includes(n)) throw usageError(`unknown stack '${n}'`, `use ${EMBEDDED_STACK_NAMES.join(", ")} or all`);
  if (!out.length) throw usageError("no stack named", `use ${EMBEDDED_STACK_NAMES.join(", ")} or all`);
  return [...new Set(out)];
}

/** Save one tarball of all images of the given stacks. */
export async function saveStacks(file: string, stacks: EmbeddedStackName[]): Promise<{ bytes: number; images: string[] }> {
  const engine = await engineOrThrow();
  const images = stacks.flatMap((s) => embeddedStackImages(s));
  try {
    return await saveImages(engine.docker, images, file);
  } catch (e) {
    if (e instanceof MissingImagesError)
      throw envError(`the engine lacks ${e.images.join(", ")}`, "pull or build them first (assets/docker/build-images.sh), or point the E2E_*_IMAGE variables at images you have");
    throw e;
  }
}

/** images/<stack>.tar for each stack inside a bundle folder. */
export async function saveBundleImages(dir: string, stacks: EmbeddedStackName[], onProgress?: (l: string) => void): Promise<StackImages> {
  await mkdir(join(dir, "images"), { recursive: true });
  const out: StackImages = {};
  for (const s of stacks) {
    const file = `images/${s}.tar`;
    onProgress?.(`saving the ${s} images`);
    const r = await saveStacks(join(dir, file), [s]);
    out[s] = { file, images: r.images };
  }
  return out;
}

export async function loadTarball(file: string): Promise<string[]> {
  const engine = await engineOrThrow();
  try {
    return await loadImages(engine.docker, file);
  } catch (e) {
    throw envError((e as Error).message, "check the engine has room (docker system df) and the file is a `docker save` tarball");
  }
}
