import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkFiles, readManifest, verifyBundle, writeManifest } from "./manifest.ts";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-manifest-"));
  await mkdir(join(dir, "wheels"));
  await writeFile(join(dir, "e2e"), "#!/bin/sh\n");
  await writeFile(join(dir, "wheels", "a-1.0-py3-none-any.whl"), "wheel bytes");
  await writeManifest(dir, {
    e2eVersion: "0.0.0",
    created: "2026-01-01T00:00:00Z",
    executable: { path: "e2e", os: "linux", arch: "x64" },
    python: { version: "3.11", platform: "manylinux_2_28_x86_64", platforms: [], requirementsSha256: "x", requirements: [] },
    images: {},
  });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("bundle manifest", () => {
  test("lists every file but itself, with sha256 and size; an intact bundle verifies", async () => {
    const m = await readManifest(dir);
    expect(m.files.map((f) => f.path)).toEqual(["e2e", "wheels/a-1.0-py3-none-any.whl"]);
    expect(m.files[1]!.size).toBe(11);
    expect(m.files[1]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await checkFiles(dir, m)).toEqual([]);
    await verifyBundle(dir);
  }, 10_000);

  test("one changed byte names the file", async () => {
    await writeFile(join(dir, "wheels", "a-1.0-py3-none-any.whl"), "wheel bytez");
    await expect(verifyBundle(dir)).rejects.toThrow("wheels/a-1.0-py3-none-any.whl does not match its sha256");
  }, 10_000);

  test("a missing file, and a file slipped in, are refused too", async () => {
    await rm(join(dir, "e2e"));
    await writeFile(join(dir, "wheels", "evil-1.0-py3-none-any.whl"), "x");
    const problems = await checkFiles(dir, await readManifest(dir));
    expect(problems).toEqual([
      { path: "e2e", why: "missing" },
      { path: "wheels/evil-1.0-py3-none-any.whl", why: "unlisted" },
    ]);
    await expect(verifyBundle(dir)).rejects.toThrow("(and 1 more)");
  }, 10_000);

  test("a folder without a manifest, or a broken one, is a usage error", async () => {
    await expect(readManifest(join(dir, "wheels"))).rejects.toThrow("is not a bundle");
    await appendFile(join(dir, "manifest.json"), "}");
    await expect(readManifest(dir)).rejects.toThrow("not valid JSON");
  }, 10_000);
});
