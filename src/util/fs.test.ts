import { afterAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashFile, sha256File } from "./fs.ts";

const dir = mkdtempSync(join(tmpdir(), "e2e-fs-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("hashFile", () => {
  // Sizes around the 1 MiB piece it reads through: empty, below, exactly one, across pieces.
  for (const size of [0, 1000, 1 << 20, (3 << 20) + 17]) {
    test(`${size} bytes: size, sha256 and md5 as a whole-file hash gives them`, async () => {
      const data = randomBytes(size);
      const path = join(dir, `f${size}`);
      writeFileSync(path, data);
      const got = await hashFile(path, { md5: true });
      expect(got).toEqual({
        size,
        sha256: createHash("sha256").update(data).digest("hex"),
        md5: createHash("md5").update(data).digest("base64"),
      });
      expect(await sha256File(path)).toEqual({ size, sha256: got.sha256 });
    });
  }
  test("no md5 unless asked; a missing file rejects with its code", async () => {
    writeFileSync(join(dir, "x"), "abc");
    expect(await hashFile(join(dir, "x"))).toEqual({ size: 3, sha256: createHash("sha256").update("abc").digest("hex") });
    await expect(hashFile(join(dir, "absent"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
