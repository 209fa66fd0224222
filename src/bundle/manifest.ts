/**
 * A bundle's manifest.json: what the bundle was made for and the sha256 of every file in it.
 * Verification reads every byte again, so one changed byte names its file before anything is
 * installed from it; a file the manifest does not list is refused as well (pip would happily
 * pick up a wheel slipped into the wheelhouse).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { E2EError, ExitCode, usageError } from "../util/errors.ts";
import { sha256File, writeFileAtomic } from "../util/fs.ts";

export const MANIFEST = "manifest.json";
export const MANIFEST_SCHEMA = "e2e/bundle/v1";

export interface BundleFile {
  /** Relative to the bundle folder, "/"-separated. */
  path: string;
  sha256: string;
  size: number;
}

export interface BundleManifest {
  schema: typeof MANIFEST_SCHEMA;
  e2eVersion: string;
  created: string;
  /** Where the executable runs: "linux-x64". */
  executable: { path: string; os: string; arch: string };
  python: { version: string; platform: string; platforms: string[]; requirementsSha256: string; requirements: string[] };
  /** Image tarballs by stack: { mlflow: { file: "images/mlflow.tar", images: [...] } }. */
  images: Record<string, { file: string; images: string[] }>;
  files: BundleFile[];
}

/** Every regular file under dir except the manifest itself, sorted, "/"-separated. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = relative(dir, join(e.parentPath, e.name)).split(sep).join("/");
    if (rel !== MANIFEST) out.push(rel);
  }
  return out.sort();
}

export async function hashFiles(dir: string, paths: string[]): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  for (const path of paths) out.push({ path, ...(await sha256File(join(dir, path))) });
  return out;
}

export async function writeManifest(dir: string, m: Omit<BundleManifest, "files" | "schema">): Promise<BundleManifest> {
  const manifest: BundleManifest = { schema: MANIFEST_SCHEMA, ...m, files: await hashFiles(dir, await listFiles(dir)) };
  await writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function readManifest(dir: string): Promise<BundleManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), "utf8");
  } catch {
    throw usageError(`${dir} is not a bundle: no ${MANIFEST}`, "give the folder made by `e2e bundle create DIR`");
  }
  let m: BundleManifest;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw usageError(`${join(dir, MANIFEST)} is not valid JSON: ${(e as Error).message}`, "copy the bundle again");
  }
  if (m?.schema !== MANIFEST_SCHEMA || !Array.isArray(m.files))
    throw usageError(`${join(dir, MANIFEST)} is not an e2e bundle manifest (schema ${String(m?.schema)})`, `expected ${MANIFEST_SCHEMA}; make it with \`e2e bundle create\``);
  return m;
}

export interface Problem {
  path: string;
  why: "missing" | "changed" | "unlisted";
}

/** Compare the folder with the manifest; returns every problem found (empty: intact). */
export async function checkFiles(dir: string, m: BundleManifest): Promise<Problem[]> {
  const present = new Set(await listFiles(dir));
  const problems: Problem[] = [];
  for (const f of m.files) {
    if (!present.delete(f.path)) {
      problems.push({ path: f.path, why: "missing" });
      continue;
    }
    const got = await sha256File(join(dir, f.path));
    if (got.sha256 !== f.sha256 || got.size !== f.size) problems.push({ path: f.path, why: "changed" });
  }
  for (const path of present) problems.push({ path, why: "unlisted" });
  return problems;
}

/** Verify, or throw one error that names the files (exit 2: the input is bad, not the machine). */
export async function verifyBundle(dir: string): Promise<BundleManifest> {
  const m = await readManifest(dir);
  const problems = await checkFiles(dir, m);
  if (problems.length) {
    const say = { missing: "is missing", changed: "does not match its sha256 in manifest.json", unlisted: "is not in manifest.json" };
    const lines = problems.map((p) => `${p.path} ${say[p.why]}`);
    const head = lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0]!;
    throw new E2EError(`bundle ${dir}: ${head}`, "copy the bundle again from the machine that made it, or make a new one with `e2e bundle create`", ExitCode.usage, lines.join("\n"));
  }
  return m;
}
