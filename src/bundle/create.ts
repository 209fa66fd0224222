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
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { requirementsFile } from "../runtime/python/env.ts";
import { ensureCacheEntry } from "../util/cache-entry.ts";
import { usageError } from "../util/errors.ts";
import { sha256 } from "../util/fs.ts";
import { VERSION } from "../version.ts";
import { placeExecutable } from "./executable.ts";
import { saveBundleImages, type StackImages } from "./images.ts";
import { MANIFEST, readManifest, writeManifest, type BundleManifest } from "./manifest.ts";
import { pipTarget, type PipTarget } from "./platform.ts";
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

/**
 * Made in a temporary sibling under DIR.lock and renamed into place (util/cache-entry.ts): a
 * second `e2e bundle create DIR` started meanwhile waits and takes that bundle when it is the
 * one it was asked for; a builder killed mid-way leaves a stale lock the next one takes over.
 */
export async function createBundle(o: CreateOptions): Promise<BundleManifest> {
  const dir = resolve(o.dir);
  const target = pipTarget({ platform: o.platform, pythonVersion: o.pythonVersion });
  // A folder that was there before this command is the user's: never ours to take or fill.
  await assertFreeTarget(dir);
  let made: BundleManifest | undefined;
  await ensureCacheEntry({
    dir,
    what: "a bundle",
    isComplete: async (d) => existsSync(join(d, MANIFEST)),
    keepIncomplete: true,
    build: async (tmp) => {
      made = await fill(tmp, dir, target, o);
    },
    onWait: (h) => o.onProgress?.(`waiting for another e2e (pid ${h.pid}${h.host !== hostname() ? ` on ${h.host}` : ""}) making a bundle in ${dir}...`),
  });
  return made ?? sameRequest(await readManifest(dir), dir, target, o);
}

/** Another e2e made the bundle while this one waited: use it only if it is what was asked for. */
function sameRequest(m: BundleManifest, dir: string, target: PipTarget, o: CreateOptions): BundleManifest {
  const want = { e2e: VERSION, python: target.pythonVersion, platform: target.platform, images: [...(o.stacks ?? [])].sort() };
  const got = { e2e: m.e2eVersion, python: m.python.version, platform: m.python.platform, images: Object.keys(m.images).sort() };
  if (JSON.stringify(want) !== JSON.stringify(got))
    throw usageError(`another e2e made a different bundle in ${dir} meanwhile (${JSON.stringify(got)}, not ${JSON.stringify(want)})`, "name a new folder");
  o.onProgress?.(`another e2e made this bundle in ${dir} meanwhile; it is the one asked for`);
  return m;
}

/** Everything of a bundle, into the empty folder `tmp`; `dir` is where it will be. */
async function fill(tmp: string, dir: string, target: PipTarget, o: CreateOptions): Promise<BundleManifest> {
  await mkdir(join(tmp, "wheels"), { recursive: true });
  // pip's log lives beside DIR, not in it: on failure it stays there and the error names it.
  const pipLog = join(dirname(dir), `${basename(dir)}.pip-download.log`);
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
  return writeManifest(tmp, { e2eVersion: VERSION, created: new Date().toISOString(), executable: { path: "e2e", os, arch }, python, images });
}
