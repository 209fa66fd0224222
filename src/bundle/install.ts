/**
 * `e2e bundle install DIR` (also `e2e setup --bundle DIR`), on the machine with no network:
 * every checksum first, then the venv from the wheelhouse with no index, then the images.
 * Nothing is installed from a bundle that fails a check.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ensurePython, requirementsFile, type PythonEnv } from "../runtime/python/env.ts";
import { envError, usageError } from "../util/errors.ts";
import { sha256 } from "../util/fs.ts";
import { loadTarball } from "./images.ts";
import { verifyBundle, type BundleManifest } from "./manifest.ts";
import { hostPythonVersion } from "./platform.ts";

export interface InstallOptions {
  assets?: string;
  onProgress?: (line: string) => void;
}

export interface Installed {
  manifest: BundleManifest;
  env: PythonEnv;
  images: string[];
}

export async function installBundle(bundleDir: string, o: InstallOptions = {}): Promise<Installed> {
  const dir = resolve(bundleDir);
  o.onProgress?.(`checking the sha256 of every file in ${dir}`);
  const manifest = await verifyBundle(dir);

  const reqs = await requirementsFile(o.assets);
  if (sha256(await readFile(reqs.path)) !== manifest.python.requirementsSha256)
    throw usageError(
      `the bundle was made by e2e ${manifest.e2eVersion} for other pinned packages than this e2e's`,
      `run the bundle's own executable: ${join(dir, "e2e")} bundle install ${dir}`,
    );
  const host = hostPythonVersion();
  if (host && host !== manifest.python.version)
    throw envError(
      `the bundle's wheels are for Python ${manifest.python.version}, this machine's python3 is ${host}`,
      `make the bundle with --python-version ${host}, or set E2E_BASE_PYTHON to a python${manifest.python.version}`,
    );

  const env = await ensurePython({ wheelhouse: join(dir, "wheels"), assets: o.assets, onProgress: o.onProgress });

  const images: string[] = [];
  for (const [stack, { file }] of Object.entries(manifest.images ?? {})) {
    o.onProgress?.(`loading the ${stack} images from ${file}`);
    images.push(...(await loadTarball(join(dir, file))));
  }
  return { manifest, env, images };
}
