/**
 * Where the workflow templates, compose files and Python adapter come from:
 *  - `--assets DIR` (or E2E_ASSETS): a folder with python/ and assets/, used as it is;
 *  - the compiled executable: its embedded zip, unpacked once into the cache;
 *  - running from a checkout (`bun src/main.ts`): the repository itself.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { usageError } from "../util/errors.ts";
import { sha256 } from "../util/fs.ts";
import { cacheDir } from "../util/paths.ts";
import { unpackOnce } from "./unpack.ts";

export interface AssetRoot {
  /** Folder holding python/ and assets/. */
  root: string;
  source: "dir" | "embedded" | "checkout";
  hash?: string;
}

let cached: AssetRoot | undefined;

export async function assetRoot(override?: string): Promise<AssetRoot> {
  const dir = override ?? process.env.E2E_ASSETS;
  if (dir) return { root: checkLayout(resolve(dir)), source: "dir" };
  if (cached) return cached;
  if (Bun.isStandaloneExecutable ?? isCompiled()) {
    const zip = await embeddedZip();
    const hash = sha256(zip).slice(0, 16);
    cached = { root: await unpackOnce(zip, hash, join(cacheDir(), "assets")), source: "embedded", hash };
  } else {
    cached = { root: checkLayout(resolve(import.meta.dir, "..", "..")), source: "checkout" };
  }
  return cached;
}

/** The raw embedded zip (compiled program only). */
export async function embeddedZip(): Promise<Buffer> {
  const { default: path } = await import("./embedded.ts");
  return Buffer.from(await Bun.file(path).arrayBuffer());
}

function isCompiled(): boolean {
  return import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");
}

function checkLayout(root: string): string {
  for (const sub of ["python", "assets"])
    if (!existsSync(join(root, sub)))
      throw usageError(`asset folder ${root} has no ${sub}/`, "point --assets at a folder made by `e2e assets extract DIR`");
  return root;
}
