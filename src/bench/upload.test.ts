import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { getBytes, putBytes, UPLOAD_CHUNK } from "./load.ts";
import { closeIdle } from "./http1.ts";
import { openRawHttp, startSink, type Sink } from "./sink.ts";
import { artifactFigures, lengthCheck } from "./artifacts.ts";
import { MlflowClient } from "../backends/mlflow/client.ts";

describe("putBytes (the upload client of the sink and MLflow alike)", () => {
  const seen: { length: string | null; chunked: string | null; sha: string }[] = [];
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      maxRequestBodySize: 2 ** 28,
      async fetch(req) {
        const body = new Uint8Array(await req.arrayBuffer());
        seen.push({ length: req.headers.get("content-length"), chunked: req.headers.get("transfer-encoding"), sha: createHash("sha256").update(body).digest("hex") });
        return new Response("{}");
      },
    });
  });
  afterAll(() => server.stop(true));

  test.each([0, 1, UPLOAD_CHUNK, UPLOAD_CHUNK + 1, 3 * UPLOAD_CHUNK + 7])("%d bytes arrive whole, with Content-Length, not chunked", async (size) => {
    const body = randomBytes(size);
    await putBytes(`http://127.0.0.1:${server.port}/up`, body);
    expect(seen.at(-1)).toEqual({ length: String(size), chunked: null, sha: createHash("sha256").update(body).digest("hex") });
  });

  test("a server's error answer throws", async () => {
    const bad = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("no", { status: 413 }) });
    try {
      await expect(putBytes(`http://127.0.0.1:${bad.port}/up`, randomBytes(10))).rejects.toThrow("HTTP 413");
    } finally {
      bad.stop(true);
    }
  });
});

describe("the loopback sink", () => {
  let sink: Sink;
  beforeAll(async () => void (sink = await startSink()), 30_000);
  afterAll(async () => sink?.stop());

  test("takes uploads of several sizes and serves downloads of the length asked", async () => {
    for (const size of [0, 1, UPLOAD_CHUNK + 1, 5 * UPLOAD_CHUNK]) await putBytes(`${sink.url}/up/x.bin`, randomBytes(size));
    expect((await getBytes(`${sink.url}/bytes/${3 * UPLOAD_CHUNK + 5}`)).length).toBe(3 * UPLOAD_CHUNK + 5);
  });

});

describe("the sink through a plain socket (no HTTP client)", () => {
  let sink: Sink;
  beforeAll(async () => void (sink = await startSink()), 30_000);
  afterAll(async () => sink?.stop());

  test("puts and gets over one kept connection, several sizes, each answered 2xx", async () => {
    const raw = openRawHttp(Number(new URL(sink.url).port));
    try {
      for (const size of [0, 1, 70_000, 3 * UPLOAD_CHUNK + 1]) {
        expect(await raw.put(randomBytes(size))).toBeGreaterThan(0);
        expect(await raw.get(size)).toBeGreaterThan(0);
      }
    } finally {
      closeIdle();
    }
  });
});

describe("artifactFigures with a measurement beside each repetition", () => {
  let sink: Sink;
  beforeAll(async () => void (sink = await startSink()), 30_000);
  afterAll(async () => sink?.stop());

  test("beside runs once per repetition and size, in order, with the same body the client sends", async () => {
    const calls: string[] = [];
    const figs = await artifactFigures({
      target: "harness", client: new MlflowClient(sink.url, { retries: 0 }), uri: "mlflow-artifacts:/bench",
      uploadPath: (size, i) => `up/${size}-${i}.bin`, downloadPath: (size) => `bytes/${size}`, check: lengthCheck, note: "test",
      beside: async (size, body, i) => void calls.push(`${size}:${body.length}:${i}`),
    }, [1024, 70_000], () => 3, () => {});
    expect(calls).toEqual(["1024:1024:0", "1024:1024:1", "1024:1024:2", "70000:70000:0", "70000:70000:1", "70000:70000:2"]);
    expect(figs.map((f) => `${f.name} ${f.samples}`)).toEqual(["http.artifact.upload 3", "http.artifact.download 3", "http.artifact.upload 3", "http.artifact.download 3"]);
  });
});
