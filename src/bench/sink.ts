/**
 * The harness ceiling: a loopback HTTP server that reads each request body and discards it,
 * answering `{}` (GET /bytes/N answers N bytes, for downloads), and beside it a raw TCP listener
 * that counts bytes and answers one byte per `bytes` received: the loopback itself, without HTTP.
 * Both run in their own process (`e2e bench --sink`) so that, like MLflow, they do not share the
 * load generator's event loop.
 */
import { join } from "node:path";
import { spawnManaged } from "../runtime/process.ts";
import { backendError } from "../util/errors.ts";

/** Serve until a signal arrives or the parent is gone; prints `E2E_SINK <port>` once listening. */
export function serveSink(): void {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 2 ** 31,
    async fetch(req) {
      const m = /\/bytes\/(\d+)$/.exec(new URL(req.url).pathname);
      if (m && req.method === "GET") return new Response(payload(Number(m[1])), { headers: { "content-type": "application/octet-stream" } });
      if (req.method !== "GET" && req.method !== "HEAD") {
        // The count is checked against Content-Length: the sink read the whole body, not less.
        const n = await discard(req);
        const want = req.headers.get("content-length");
        if (want !== null && Number(want) !== n) return Response.json({ error: `received ${n} bytes of ${want}` }, { status: 400 });
      }
      return new Response("{}", { headers: { "content-type": "application/json" } });
    },
  });
  // Raw loopback (Bun's native sockets, as Bun.serve uses): the client sends an 8-byte length,
  // then that many bytes; one byte back when all arrived.
  type Conn = { want: number; got: number; head: Uint8Array };
  const raw = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        sock.data = { want: -1, got: 0, head: new Uint8Array(0) };
      },
      data(sock, chunk) {
        const c = sock.data;
        let rest: Uint8Array = chunk;
        if (c.want < 0) {
          const head = new Uint8Array(c.head.length + chunk.length);
          head.set(c.head);
          head.set(chunk, c.head.length);
          if (head.length < 8) return void (c.head = head);
          c.want = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0));
          rest = head.subarray(8);
        }
        c.got += rest.length;
        if (c.got >= c.want) {
          sock.write(new Uint8Array([1]));
          sock.flush();
          sock.data = { want: -1, got: 0, head: new Uint8Array(0) };
        }
      },
    },
  });
  process.stdout.write(`E2E_SINK ${server.port} ${raw.port}\n`);
  const stop = () => {
    raw.stop(true);
    server.stop(true);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Orphaned (the parent was killed with no chance to clean up): go too.
  const parent = Number(process.env.E2E_PARENT_PID || process.ppid);
  setInterval(() => process.ppid !== parent && stop(), 1000);
}

/**
 * Read a request body to its end and drop it. Not req.arrayBuffer(): gathering a 256 MB body into
 * one buffer cost the sink most of its speed (measured with the same client, load 12: 123 MB/s at
 * 256 MB and 869 at 16 MB, against 421 and 1,784 discarding as it reads).
 */
async function discard(req: Request): Promise<number> {
  if (!req.body) return 0;
  // readMany (Bun's): every chunk already queued in one call; the DOM typings lack it.
  const reader = req.body.getReader() as unknown as { readMany(): Promise<Bun.ReadableStreamDefaultReadManyResult<Uint8Array>> };
  let n = 0;
  for (;;) {
    const r = await reader.readMany();
    // The last call can bring data and done at once (a small body arrives whole).
    for (const c of r.value ?? []) n += c.length;
    if (r.done) return n;
  }
}

let cached: Uint8Array | undefined;
/** The bytes a download is served (one buffer, reused: the sink measures transfer, not generation). */
function payload(n: number): Uint8Array {
  if (!cached || cached.length < n) cached = new Uint8Array(Math.max(n, 1 << 20)).fill(0x5a);
  return cached.subarray(0, n);
}

/**
 * A plain TCP connection to the sink's raw listener: `send(body)` is the milliseconds to push the
 * body through and get the one-byte answer, the loopback's own cost without HTTP. The connection
 * is kept (like the HTTP client's keep-alive), so TCP's slow start is paid once, in a warm-up.
 */
export async function openRawLoopback(port: number): Promise<{ send(body: Uint8Array): Promise<number>; close(): void }> {
  let answered: (() => void) | undefined;
  let drained: (() => void) | undefined;
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data() {
        answered?.();
      },
      drain() {
        drained?.();
      },
    },
  });
  sock.setNoDelay(true);
  // Bun's write() takes what fits and returns the count; the rest waits for drain.
  const writeAll = async (buf: Uint8Array) => {
    let off = 0;
    while (off < buf.length) {
      const n = sock.write(buf.subarray(off));
      off += Math.max(0, n);
      if (off < buf.length) await new Promise<void>((r) => (drained = r));
    }
  };
  const send = async (body: Uint8Array) => {
    const done = new Promise<void>((r) => (answered = r));
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(body.length));
    const t = performance.now();
    await writeAll(head);
    await writeAll(body);
    await done;
    return performance.now() - t;
  };
  return { send, close: () => sock.end() };
}

/**
 * HTTP/1.1 to the sink written and read on a plain kept TCP connection, no HTTP client: the sink's
 * own cost over the raw loopback's. `put(body)` sends a PUT with its Content-Length and waits for
 * the answer; `get(n)` asks /bytes/n and counts the body. Both give milliseconds. Between this and
 * the load generator's fetch figure to the same sink lies the client's cost.
 */
export async function openRawHttp(port: number): Promise<{ put(body: Uint8Array): Promise<number>; get(n: number): Promise<number>; close(): void }> {
  let drained: (() => void) | undefined;
  // The answer being read: its head (latin1 text until the blank line), then body bytes counted.
  let head = "";
  let want = -1;
  let got = 0;
  let answered: ((status: string) => void) | undefined;
  const onData = (d: Uint8Array) => {
    let rest = d;
    if (want < 0) {
      const before = head.length;
      head += new TextDecoder("latin1").decode(d.subarray(0, 16384));
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      want = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head.slice(0, end))?.[1] ?? 0);
      rest = d.subarray(end + 4 - before);
      head = head.slice(0, head.indexOf("\r\n"));
    }
    got += rest.length;
    if (got >= want) {
      const status = head;
      head = "";
      want = -1;
      got = 0;
      answered?.(status);
    }
  };
  const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => onData(d), drain: () => drained?.() } });
  sock.setNoDelay(true);
  const writeAll = async (buf: Uint8Array) => {
    for (let off = 0; off < buf.length; ) {
      off += Math.max(0, sock.write(buf.subarray(off)));
      if (off < buf.length) await new Promise<void>((r) => (drained = r));
    }
  };
  const exchange = async (req: string, body?: Uint8Array) => {
    const done = new Promise<string>((r) => (answered = r));
    const t = performance.now();
    await writeAll(new TextEncoder().encode(req));
    if (body) await writeAll(body);
    const status = await done;
    const ms = performance.now() - t;
    if (!/^HTTP\/1\.1 2/.test(status)) throw backendError(`the sink answered "${status}" to a raw request`);
    return ms;
  };
  return {
    put: (body) => exchange(`PUT /raw HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n\r\n`, body),
    get: (n) => exchange(`GET /bytes/${n} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`),
    close: () => sock.end(),
  };
}

export interface Sink {
  url: string;
  /** Port of the raw TCP listener. */
  rawPort: number;
  pid: number;
  stop(): Promise<void>;
}

/** The argv that runs this program again: the compiled executable, or bun with src/main.ts. */
export function selfArgv(): string[] {
  const compiled = Bun.isStandaloneExecutable ?? import.meta.url.includes("$bunfs");
  return compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, "..", "main.ts")];
}

export async function startSink(): Promise<Sink> {
  let resolvePort!: (port: number) => void;
  let rawPort = 0;
  const port = new Promise<number>((r) => (resolvePort = r));
  const proc = spawnManaged([...selfArgv(), "bench", "--sink"], {
    name: "loopback sink",
    onStdoutLine: (line) => {
      const m = /^E2E_SINK (\d+) (\d+)$/.exec(line.trim());
      if (m) {
        rawPort = Number(m[2]);
        resolvePort(Number(m[1]));
      }
    },
  });
  const timeout = Bun.sleep(15_000).then(() => -1);
  const p = await Promise.race([port, proc.exited.then(() => -1), timeout]);
  if (p < 0) {
    await proc.stop();
    throw backendError("the loopback sink did not start", "run with E2E_DEBUG=1 to see why");
  }
  return { url: `http://127.0.0.1:${p}`, rawPort, pid: proc.pid, stop: async () => void (await proc.stop(2000)) };
}
