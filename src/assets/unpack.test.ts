import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yazl from "yazl";
import { extractZip, safeEntryPath, unpackOnce, UnsafeArchiveError } from "./unpack.ts";

async function zipOf(entries: { name: string; data: string; mode?: number }[]): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) z.addBuffer(Buffer.from(e.data), e.name, { mode: e.mode ?? 0o100644 });
  z.end();
  const chunks: Buffer[] = [];
  for await (const c of z.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** yazl refuses '..' names, so a hostile zip gets its name patched after the fact (same length). */
function patchName(zip: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  return Buffer.from(zip.toString("latin1").split(from).join(to), "latin1");
}

const dirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), "e2e-unpack-test-"));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe("unpack", () => {
  test("extracts files and keeps the executable bit", async () => {
    const d = await tmp();
    await extractZip(await zipOf([{ name: "python/a.py", data: "x=1" }, { name: "assets/run.sh", data: "#!/bin/sh", mode: 0o100755 }]), d);
    expect(await readFile(join(d, "python/a.py"), "utf8")).toBe("x=1");
  });
  test("refuses an entry escaping the folder", async () => {
    const d = await tmp();
    const hostile = patchName(await zipOf([{ name: "xx/evil.txt", data: "pwned" }]), "xx/evil.txt", "../evil.txt");
    await expect(extractZip(hostile, join(d, "out"))).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(existsSync(join(d, "evil.txt"))).toBe(false);
  });
  test("refuses absolute paths and symlinks", async () => {
    expect(() => safeEntryPath("/tmp/x", "/etc/passwd")).toThrow(UnsafeArchiveError);
    expect(() => safeEntryPath("/tmp/x", "a/../../b")).toThrow(UnsafeArchiveError);
    expect(safeEntryPath("/tmp/x", "a/../b")).toBe("/tmp/x/b");
    const d = await tmp();
    const link = await zipOf([{ name: "link", data: "/etc/passwd", mode: 0o120777 }]);
    await expect(extractZip(link, d)).rejects.toThrow("symbolic link");
  });
  test("refuses archives that unpack past the size cap", async () => {
    const d = await tmp();
    await expect(extractZip(await zipOf([{ name: "big", data: "x".repeat(1000) }]), d, 100)).rejects.toThrow("more than 100 bytes");
  });
  test("unpackOnce: once, under the hash, replacing a half folder from a killed run", async () => {
    const root = await tmp();
    const zip = await zipOf([{ name: "python/a.py", data: "1" }]);
    await Bun.write(join(root, "h1", "python", "stale.py"), "half"); // no .complete marker
    const a = await unpackOnce(zip, "h1", root);
    expect(a).toBe(join(root, "h1"));
    expect(existsSync(join(a, "python", "stale.py"))).toBe(false);
    expect(existsSync(join(a, ".complete"))).toBe(true);
    const again = await unpackOnce(zip, "h1", root);
    expect(again).toBe(a);
    expect(await readdir(root)).toEqual(["h1"]); // no temporary folder, no lock
  });
  test("concurrent unpacks end with one complete folder", async () => {
    const root = await tmp();
    const zip = await zipOf([{ name: "python/a.py", data: "1" }]);
    const outs = await Promise.all([1, 2, 3, 4].map(() => unpackOnce(zip, "h2", root)));
    expect(new Set(outs).size).toBe(1);
    expect(await readFile(join(root, "h2", "python", "a.py"), "utf8")).toBe("1");
  });
});
