/**
 * The compiled executable as a user gets it: it ignores .env and bunfig.toml in the folder it
 * is run from, unpacks its embedded assets into the cache under their hash, and extracts them.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary, runE2E } from "../helpers.ts";

const built = existsSync(binary) && !process.env.E2E_TEST_FROM_SOURCE;

// A test that cannot run here is reported as skipped, with its reason, never as a pass.
test.skipIf(!built)(`ignores .env and bunfig.toml in the user's folder; unpacks the embedded assets once${built ? "" : " (SKIPPED: dist/e2e is not built (npm run build) or E2E_TEST_FROM_SOURCE is set)"}`, async () => {
  const cwd = await mkdtemp(join(tmpdir(), "e2e-cwd-"));
  const cache = join(cwd, "cache");
  await writeFile(join(cwd, ".env"), "E2E_CACHE_DIR=/nonexistent/from-dotenv\n");
  await writeFile(join(cwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
  await writeFile(join(cwd, "evil.ts"), 'console.log("EVIL PRELOAD RAN"); process.exit(42);\n');
  try {
    const r = await runE2E(["doctor", "--json"], { cwd, env: { E2E_CACHE_DIR: cache } });
    expect(r.stdout + r.stderr).not.toContain("EVIL");
    expect(r.stdout + r.stderr).not.toContain("from-dotenv");
    const doc = JSON.parse(r.stdout);
    const assets = doc.findings.find((f: { name: string }) => f.name === "assets");
    expect(assets.message).toContain(join(cache, "assets"));
    const unpacked = readdirSync(join(cache, "assets")).filter((n) => !n.startsWith("."));
    expect(unpacked).toHaveLength(1);
    expect(unpacked[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(existsSync(join(cache, "assets", unpacked[0]!, "python", "workflows", "cnn.py"))).toBe(true);
    expect(existsSync(join(cache, "assets", unpacked[0]!, "python", "tests"))).toBe(false);
    const out = join(cwd, "extracted");
    const ex = await runE2E(["assets", "extract", out], { cwd, env: { E2E_CACHE_DIR: cache } });
    expect(ex.code).toBe(0);
    expect(existsSync(join(out, "assets", "compose", "mlflow.yml"))).toBe(true);
    const again = await runE2E(["assets", "extract", out], { cwd, env: { E2E_CACHE_DIR: cache } });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("not empty");
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}, 120_000);
