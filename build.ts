/**
 * Build the single executable: zip assets/ and python/ (deterministic entry order and times),
 * then `bun build --compile` src/main.ts, which embeds that zip as a file. The compiled program
 * does not read .env or bunfig.toml from the user's folder.
 *
 *   bun build.ts [--target bun-linux-x64|bun-linux-arm64|bun-darwin-arm64] [--outfile dist/e2e]
 */
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import yazl from "yazl";

const root = import.meta.dir;
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = opt("--target");
const outfile = opt("--outfile") ?? join(root, "dist", target ? `e2e-${target.replace(/^bun-/, "")}` : "e2e");

// The Python tests stay in the repository; the executable carries what runs.
const SKIP = new Set(["__pycache__", ".pytest_cache", join("python", "tests")]);

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || SKIP.has(relative(root, join(dir, e.name))) || e.name.endsWith(".pyc")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function makeZip(zipPath: string): Promise<number> {
  const zip = new yazl.ZipFile();
  const all = [...(await files(join(root, "assets"))), ...(await files(join(root, "python")))].sort();
  const epoch = new Date("2026-01-01T00:00:00Z");
  for (const f of all) {
    const mode = (await stat(f)).mode & 0o111 ? 0o100755 : 0o100644;
    zip.addBuffer(await readFile(f), relative(root, f), { mtime: epoch, mode });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  await Bun.write(zipPath, Buffer.concat(chunks));
  return all.length;
}

await mkdir(join(root, "dist"), { recursive: true });
const n = await makeZip(join(root, "dist", "assets.zip"));
const result = await Bun.build({
  entrypoints: [join(root, "src", "main.ts")],
  // unzipper lazily requires the AWS SDK for S3 sources we never use.
  external: ["@aws-sdk/client-s3"],
  minify: false,
  sourcemap: "none",
  // Precompiled bytecode: JavaScriptCore skips parsing the ~5 MB bundle at each start (`e2e
  // --help` 55 -> 15 ms of CPU here). Only for this machine's own platform; cross-compiled
  // executables start from source (E2E_BYTECODE=0 turns it off here too).
  ...(target || process.env.E2E_BYTECODE === "0" ? {} : { bytecode: true, format: "esm" }),
  compile: {
    outfile,
    ...(target ? { target: target as Bun.Build.CompileTarget } : {}),
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
} as Parameters<typeof Bun.build>[0]);
if (!result.success) {
  for (const l of result.logs) console.error(l);
  process.exit(1);
}
console.error(`built ${outfile} (${n} embedded files)`);
