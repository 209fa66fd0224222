import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { loadImages, missingImages, MissingImagesError, requireImages, saveImages } from "./images.ts";
import { dockerTestEnv } from "./testing.ts";

/** A one-file tar archive (ustar), enough for `docker import` to make a tiny image. */
function tinyTar(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, "ascii");
  put(name, 0, 100);
  put("0000644\0", 100, 8);
  put("0000000\0", 108, 8);
  put("0000000\0", 116, 8);
  put(data.length.toString(8).padStart(11, "0") + "\0", 124, 12);
  put(Math.floor(Date.now() / 1000).toString(8).padStart(11, "0") + "\0", 136, 12);
  h.fill(" ", 148, 156);
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)]);
}

const env = await dockerTestEnv([]); // needs an engine only; the image is made here
const tag = `e2e-test/tiny:${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "e2e-images-"));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (env.engine) await env.engine.docker.getImage(tag).remove({ force: true }).catch(() => undefined);
});

describe(`images${env.skip ? ` (SKIPPED: ${env.skip})` : ""}`, () => {
  test.skipIf(!!env.skip)("missing images are all reported, before anything starts", async () => {
    const docker = env.engine!.docker;
    const missing = await missingImages(docker, ["e2e-test/none-a:1", "e2e-test/none-b:2", "e2e-test/none-a:1"]);
    expect(missing).toEqual(["e2e-test/none-a:1", "e2e-test/none-b:2"]);
    const err = await requireImages(docker, ["e2e-test/none-a:1"]).catch((e) => e);
    expect(err).toBeInstanceOf(MissingImagesError);
    expect(err.message).toStartWith("missing image: e2e-test/none-a:1: ");
  });

  test.skipIf(!!env.skip)("save to a tarball and load it back through the engine API", async () => {
    const docker = env.engine!.docker;
    const [repo, t] = tag.split(":") as [string, string];
    const stream = await docker.importImage(Readable.from(tinyTar("hello.txt", "hello from e2e\n")) as unknown as NodeJS.ReadableStream, { repo, tag: t });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
    expect(await missingImages(docker, [tag])).toEqual([]);

    const file = join(dir, "images.tar");
    const saved = await saveImages(docker, [tag], file);
    expect(saved.bytes).toBe(statSync(file).size);
    expect(saved.bytes).toBeGreaterThan(1024);

    await docker.getImage(tag).remove({ force: true });
    expect(await missingImages(docker, [tag])).toEqual([tag]);

    const loaded = await loadImages(docker, file);
    expect(loaded).toContain(tag);
    expect(await missingImages(docker, [tag])).toEqual([]);
  });

  test.skipIf(!!env.skip)("saving a missing image or loading a missing file is a clear error", async () => {
    const docker = env.engine!.docker;
    expect(saveImages(docker, ["e2e-test/none:1"], join(dir, "x.tar"))).rejects.toThrow(/missing image: e2e-test\/none:1: nothing to save/);
    expect(loadImages(docker, join(dir, "nope.tar"))).rejects.toThrow(/no such file/);
  });
});
