/**
 * `e2e bundle create DIR`: everything a machine with no network needs, made on one that has it.
 * Built in a sibling folder and renamed into place, so DIR is either a whole bundle or absent.
 *
 *   DIR/e2e               the executable
 *   DIR/wheels/*.whl      every pinned package and dependency, for one platform and Python
 *   DIR/images/<s>.tar    (with --images) the stacks' Docker images
 *   DIR/README.txt        how to install it
 *   DIR/manifest.json     what it is for, and the sha256 of every other file
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { requirementsFile } from "../runtime/python/env.ts";
import { onTeardown } from "../runtime/lifecycle.ts";
import { usageError } from "../util/errors.ts";
import { sha256 } from "../util/fs.ts";
import { VERSION } from "../version.ts";
import { placeExecutable } from "./executable.ts";
import { saveBundleImages, type StackImages } from "./images.ts";
import { writeManifest, type BundleManifest } from "./manifest.ts";
import { pipTarget } from "./platform.ts";
import { downloadWheels, requirementLines } from "./wheelhouse.ts";
import type { EmbeddedStackName } from "../runtime/docker/embedded.ts";

export interface CreateOptions {
  dir: string;
  platform?: string;
  pythonVersion?: string;
  stacks?: EmbeddedStackName[];
  executable?: string;
  assets?: string;
  onProgress?: (line: string) => void;
}

const README = (m: Pick<BundleManifest, "python" | "images">) => `e2e offline bundle

Made for Python ${m.python.version} on ${m.python.platform}. On the machine with no network:

  ./e2e bundle install .      # checks every sha256, makes the venv from wheels/ with no index${Object.keys(m.images).length ? ", loads images/" : ""}
  ./e2e run                   # the suite, as on any machine

(\`e2e setup --bundle DIR\` does the same as \`e2e bundle install DIR\`.)
`;

async function assertFreeTarget(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  if ((await readdir(dir)).length) throw usageError(`${dir} exists and is not empty`, "remove it or name a new folder");
  await rm(dir, { recursive: true });
}

export async function createBundle(o: CreateOptions): Promise<BundleManifest> {
  const dir = resolve(o.dir);
  const target = pipTarget({ platform: o.platform, pythonVersion: o.pythonVersion });
  await assertFreeTarget(dir);
  const tmp = join(dirname(dir), `.${basename(dir)}.partial-${process.pid}`);
  await mkdir(join(tmp, "wheels"), { recursive: true });
  let done = false;
  onTeardown(`partial bundle ${tmp}`, () => (done ? Promise.resolve() : rm(tmp, { recursive: true, force: true })));
  // pip's log lives beside DIR, not in it: on failure it stays there and the error names it.
  const pipLog = join(dirname(dir), `${basename(dir)}.pip-download.log`);
  try {
    const from = await placeExecutable(join(tmp, "e2e"), o.executable);
    o.onProgress?.(`executable: ${from}`);
    const reqs = await requirementsFile(o.assets);
    o.onProgress?.(`downloading wheels for Python ${target.pythonVersion} on ${target.platform}`);
    await downloadWheels({ requirements: reqs.path, dest: join(tmp, "wheels"), target, logFile: pipLog, onProgress: o.onProgress });
    await rm(pipLog, { force: true });
    const images: StackImages = o.stacks?.length ? await saveBundleImages(tmp, o.stacks, o.onProgress) : {};
    const python = {
      version: target.pythonVersion,
      platform: target.platform,
      platforms: target.platforms,
      requirementsSha256: sha256(await readFile(reqs.path)),
      requirements: await requirementLines(reqs.path),
    };
    await writeFile(join(tmp, "README.txt"), README({ python, images }));
    const [os, arch] = o.executable ? ["unknown", "unknown"] : [process.platform, process.arch];
    const manifest = await writeManifest(tmp, { e2eVersion: VERSION, created: new Date().toISOString(), executable: { path: "e2e", os, arch }, python, images });
    await assertFreeTarget(dir);
    await rename(tmp, dir);
    return manifest;
  } finally {
    // After the rename there is nothing left here; after a failure, the partial bundle goes.
    await rm(tmp, { recursive: true, force: true });
    done = true;
  }
}
