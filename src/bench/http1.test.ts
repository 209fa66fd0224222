import { afterAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { closeIdle, http1Request, MessageReader, framingOf, usesHttp1, type Head } from "./http1.ts";
import { getBytes, HttpError, putBytes } from "./load.ts";
import { startSink } from "./sink.ts";

/** Every message the reader finds in `bytes` fed in pieces of `step`: its head line and body. */
function readAll(bytes: Uint8Array, step: number, message: "request" | "response" = "response") {
  const got: { line: string; body: string }[] = [];
  let parts: Uint8Array[] = [];
  let line = "";
  const r = new MessageReader({
    head: (h: Head) => ((line = h.line), (parts = []), { framing: framingOf(h, message), body: (p) => void parts.push(p.slice()) }),
    end: () => void got.push({ line, body: Buffer.concat(parts).toString("latin1") }),
  });
  for (let i = 0; i < bytes.length; i += step) r.push(bytes.subarray(i, i + step));
  return { got, r };
}

const wire = (s: string) => Buffer.from(s, "latin1");

describe("MessageReader (HTTP/1.1 framing)", () => {
  const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  const sized = "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc";

  test.each([1, 2, 7, 1000])("chunked, then a sized message on the same connection, in pieces of %d bytes", (step) => {
    const { got, r } = readAll(wire(chunked + sized), step);
    expect(got).toEqual([{ line: "HTTP/1.1 200 OK", body: "hello world" }, { line: "HTTP/1.1 201 Created", body: "abc" }]);
    expect(r.inMessage).toBe(false);
  });

  test("a request with neither length nor chunks has no body; a response without either ends at the close", () => {
    expect(readAll(wire("GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), 3, "request").got.map((m) => m.line)).toEqual(["GET /a HTTP/1.1", "GET /b HTTP/1.1"]);
    const { got, r } = readAll(wire("HTTP/1.1 200 OK\r\n\r\nto the end"), 4);
    expect(got).toEqual([]);
    r.eof();
    expect(got).toEqual([{ line: "HTTP/1.1 200 OK", body: "to the end" }]);
  });

  test("malformed framing throws, and a close inside a sized body is an error", () => {
    expect(() => readAll(wire("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 100)).toThrow("hexadecimal");
    expect(() => readAll(wire("HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n"), 100)).toThrow("not a number");
    expect(() => readAll(wire("HTTP/1.1 200 OK\r\nno colon\r\n\r\n"), 100)).toThrow("without a name");
    expect(() => readAll(wire("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n"), 100)).toThrow("CRLF");
    const { r } = readAll(wire("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), 100);
    expect(() => r.eof()).toThrow("closed within a message");
  });
});

describe("usesHttp1: plain http unless an environment proxy applies", () => {
  test.each([
    ["http://127.0.0.1:5000/x", {}, true],
    ["http://mlflow.lab:5000/x", {}, true],
    ["http://mlflow.lab:5000/x", { HTTP_PROXY: "http://proxy:3128" }, false],
    ["http://localhost:5000/x", { http_proxy: "http://proxy:3128" }, true],
    ["https://mlflow.lab/x", {}, false],
  ] as const)("%s %o", (url, env, want) => expect(usesHttp1(new URL(url), env)).toBe(want));
});

describe("http1Request against other servers", () => {
  afterAll(closeIdle);

  test("a chunked download (Bun.serve streaming) arrives whole; an error answer keeps MLflow's error body", async () => {
    const body = randomBytes(3 * 65536 + 11);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        if (req.url.endsWith("/err")) return Response.json({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "no such artifact" }, { status: 404 });
        return new Response(new ReadableStream({ start: (c) => (c.enqueue(body.subarray(0, 70_000)), c.enqueue(body.subarray(70_000)), c.close()) }));
      },
    });
    try {
      // Counted only: a 2xx body is not kept, but an error's is (its first 64 KB).
      const counted = await http1Request(new URL(`http://127.0.0.1:${server.port}/stream`), { method: "GET", keepBody: false });
      expect([counted.status, counted.bytes, counted.body.length]).toEqual([200, body.length, 0]);
      const countedErr = await http1Request(new URL(`http://127.0.0.1:${server.port}/err`), { method: "GET", keepBody: false });
      expect([countedErr.status, Buffer.from(countedErr.body).toString()]).toEqual([404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no such artifact"}']);
      const got = await getBytes(`http://127.0.0.1:${server.port}/stream`);
      expect(createHash("sha256").update(got).digest("hex")).toBe(createHash("sha256").update(body).digest("hex"));
      const err = await getBytes(`http://127.0.0.1:${server.port}/err`).catch((e) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(404);
      expect((err as Error).message).toContain("RESOURCE_DOES_NOT_EXIST");
    } finally {
      closeIdle();
      server.stop(true);
    }
  });

  test("a kept connection the server dropped after its last answer is replaced, and the request made once", async () => {
    let requests = 0;
    // Answers one request per connection and closes it without saying so (a keep-alive that ran out).
    const server = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock, d) {
          if (!Buffer.from(d).includes("\r\n\r\n")) return;
          requests++;
          sock.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
          sock.end();
        },
      },
    });
    try {
      const url = new URL(`http://127.0.0.1:${server.port}/x`);
      for (let i = 0; i < 3; i++) {
        await Bun.sleep(20); // the close has arrived before the next request
        const a = await http1Request(url, { method: "GET" });
        expect(Buffer.from(a.body).toString()).toBe("ok");
      }
      expect(requests).toBe(3);
    } finally {
      closeIdle();
      server.stop(true);
    }
  });

  test("no server at the port: a clear error naming the host", async () => {
    const spare = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = spare.port;
    spare.stop(true);
    await expect(http1Request(new URL(`http://127.0.0.1:${port}/x`), { method: "GET" })).rejects.toThrow(`could not connect to 127.0.0.1:${port}`);
  });

  test("no whole answer in time: the request fails with the timeout, not a hang", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      await expect(http1Request(new URL(`http://127.0.0.1:${silent.port}/x`), { method: "GET", timeoutMs: 200 })).rejects.toThrow("within 0.2 s");
    } finally {
      closeIdle();
      silent.stop(true);
    }
  });
});

describe("the sink reads HTTP/1.1 as any client may send it", () => {
  test("a chunked upload is read to its end before the answer; pipelined requests are answered in order; garbage gets 400", async () => {
    const sink = await startSink();
    const port = Number(new URL(sink.url).port);
    const exchange = async (bytes: string, answers: number) => {
      let text = "";
      const { promise, resolve } = Promise.withResolvers<string>();
      const sock = await Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          data: (_s, d) => {
            text += Buffer.from(d).toString("latin1");
            if (text.split("HTTP/1.1 ").length - 1 >= answers && /\r\n\r\n[^]*$/.test(text)) resolve(text);
          },
          close: () => resolve(text),
        },
      });
      // The chunked body in two writes, the answer only after the last chunk.
      const cut = bytes.indexOf("0\r\n\r\n");
      sock.write(bytes.slice(0, cut));
      await Bun.sleep(50);
      const early = text;
      sock.write(bytes.slice(cut));
      const all = await Promise.race([promise, Bun.sleep(5000).then(() => text)]);
      sock.end();
      return { early, all };
    };
    try {
      const chunked = "PUT /up HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nGET /bytes/5 HTTP/1.1\r\nhost: x\r\n\r\n";
      const { early, all } = await exchange(chunked, 2);
      expect(early).toBe("");
      expect(all).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{\}HTTP\/1\.1 200 OK\r\n[^]*content-length: 5\r\n\r\nZZZZZ$/);
      const bad = await exchange("PUT /up HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nnot-hex\r\n0\r\n\r\n", 1);
      expect(bad.all).toStartWith("HTTP/1.1 400 Bad Request");
      // The sink still serves new connections, and the client of the bench alike.
      await putBytes(`${sink.url}/up/y`, randomBytes(100));
      // curl, an independent client: a 3 MB upload (it asks 100-continue) and a download.
      const file = `${process.env.TMPDIR ?? "/tmp"}/e2e-sink-curl-${process.pid}.bin`;
      await Bun.write(file, randomBytes(3 << 20));
      try {
        const put = Bun.spawnSync(["curl", "-sS", "-v", "-o", "/dev/null", "-w", "%{http_code}", "-T", file, `${sink.url}/up/z`]);
        expect(put.stdout.toString()).toBe("200");
        expect(put.stderr.toString()).toContain("< HTTP/1.1 100 Continue");
        const get = Bun.spawnSync(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", `${sink.url}/bytes/70000`]);
        expect(get.stdout.toString()).toBe("200 70000");
      } finally {
        await Bun.file(file).delete();
      }
    } finally {
      closeIdle();
      await sink.stop();
    }
  }, 30_000);
});

describe("a transfer that got no answer is what faults.ts calls no answer", () => {
  test("no whole answer in time is transient (a set-up retry may follow); an HTTP 404 is not", async () => {
    const { transient } = await import("./faults.ts");
    const spare = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const silent = await http1Request(new URL(`http://127.0.0.1:${spare.port}/x`), { method: "GET", timeoutMs: 100 }).catch((e) => e);
    spare.stop(true);
    expect(transient(silent)).toBe(true);
    expect(transient(new HttpError(404, "/x", "{}"))).toBe(false);
    closeIdle();
  });
});

describe("an answer before the whole body was sent", () => {
  test.each([true, false])("counts, and the upload does not wait for a drain that never comes (server closes: %p)", async (closes) => {
    // Answers on the first bytes of the head, reads no more (a proxy's 413 or 502).
    const server = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock) {
          if (sock.data === undefined) {
            (sock as unknown as { data: number }).data = 1;
            sock.write(`HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n${closes ? "connection: close\r\n" : ""}\r\nbig!`);
            if (closes) sock.end();
            else sock.pause?.();
          }
        },
      },
    });
    try {
      const t = performance.now();
      const err = await putBytes(`http://127.0.0.1:${server.port}/up`, randomBytes(64 << 20)).catch((e) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(413);
      expect(performance.now() - t).toBeLessThan(30_000);
    } finally {
      closeIdle();
      server.stop(true);
    }
  }, 60_000);
});

describe("servers that answer in unusual ways", () => {
  /** A server that writes `answer` to the first request on each connection, then does `after`. */
  const scripted = (answer: string, after: "close" | "stay") =>
    Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock, d) {
          if (!Buffer.from(d).includes("\r\n\r\n")) return;
          sock.write(answer);
          if (after === "close") sock.end();
        },
      },
    });

  test("an interim 100 Continue is skipped: the answer is the one after it", async () => {
    const server = scripted("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone", "stay");
    try {
      const a = await http1Request(new URL(`http://127.0.0.1:${server.port}/x`), { method: "PUT", body: randomBytes(10) });
      expect([a.status, Buffer.from(a.body).toString()]).toEqual([201, "done"]);
    } finally {
      closeIdle();
      server.stop(true);
    }
  });

  test("an HTTP/1.0 answer without a length is read to the close; a close inside a sized body fails as no answer", async () => {
    const old = scripted("HTTP/1.0 200 OK\r\n\r\nall of it", "close");
    const cut = scripted("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this", "close");
    try {
      expect(Buffer.from(await getBytes(`http://127.0.0.1:${old.port}/x`)).toString()).toBe("all of it");
      const err = await getBytes(`http://127.0.0.1:${cut.port}/x`).catch((e) => e);
      expect((err as Error).message).toContain("closed the connection within its answer");
      expect((err as { code?: string }).code).toBe("ECONNRESET");
    } finally {
      closeIdle();
      old.stop(true);
      cut.stop(true);
    }
  });
});
