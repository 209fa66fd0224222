/**
 * The harness ceiling: a loopback HTTP server that reads each request body and discards it,
 * answering `{}` (GET /bytes/N answers N bytes, for downloads), and beside it a raw TCP listener
 * that counts bytes and answers one byte per `bytes` received: the loopback itself, without HTTP.
 * Both run in their own process (`e2e bench --sink`) so that, like MLflow, they do not share the
 * load generator's event loop.
 */
import type { Socket } from "bun";
import { join } from "node:path";
import { spawnManaged } from "../runtime/process.ts";
import { backendError } from "../util/errors.ts";
import { framingOf, http1Request, MessageReader, writeAll, type Head } from "./http1.ts";

/** Serve until a signal arrives or the parent is gone; prints `E2E_SINK <port>` once listening. */
export function serveSink(): void {
  const server = listenHttpSink();
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
 * The HTTP sink: HTTP/1.1 on Bun.listen, read with the client's own MessageReader (http1.ts). Each
 * request body is read to its end (its Content-Length or its chunks) and dropped; the answer is
 * `{}`, or for GET /bytes/N, N bytes from one reused buffer. Connections are kept; the requests on
 * one are answered in order. Not Bun.serve: in the idle full profile its downloads were the bound,
 * HTTP written on a plain socket got 886 MB/s from it at 1 MB and 1,110 at 256 MB against raw TCP's
 * 3,136 and 2,462 (docs/benchmarks.md).
 */
function listenHttpSink() {
  type Conn = { reader: MessageReader; out: Uint8Array[]; closing: boolean };
  const flush = (sock: Socket<Conn>) => {
    const c = sock.data;
    while (c.out.length) {
      const b = c.out[0]!;
      const n = Math.max(0, sock.write(b));
      if (n < b.length) return void (c.out[0] = b.subarray(n)); // the rest on drain
      c.out.shift();
    }
    if (c.closing) sock.end();
  };
  const answer = (sock: Socket<Conn>, req: Head) => {
    const [method, target = ""] = req.line.split(" ");
    const m = /\/bytes\/(\d+)$/.exec(target.split("?")[0]!);
    const body = m && method === "GET" ? payload(Number(m[1])) : JSON_BODY;
    const type = body === JSON_BODY ? "application/json" : "application/octet-stream";
    const head = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${body.length}\r\n\r\n`, "latin1");
    // A small answer in one write (one packet); a large one as the head, then a view of the bytes.
    sock.data.out.push(...(body.length <= 65536 ? [Buffer.concat([head, body])] : [head, body]));
    if (/close/i.test(req.headers.get("connection") ?? "")) sock.data.closing = true;
    flush(sock);
  };
  return Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        sock.setNoDelay(true);
        let req: Head | undefined;
        sock.data = {
          out: [],
          closing: false,
          // Bodies are framed and dropped: no body handler.
          reader: new MessageReader({
            head: (h) => {
              req = h;
              // curl and others wait for this before a large body.
              if (/100-continue/i.test(h.headers.get("expect") ?? "")) sock.data.out.push(CONTINUE), flush(sock);
              return { framing: framingOf(h, "request") };
            },
            end: () => answer(sock, req!),
          }),
        };
      },
      data(sock, chunk) {
        try {
          sock.data.reader.push(chunk);
        } catch (err) {
          const why = JSON.stringify({ error: (err as Error).message });
          sock.data.out.push(Buffer.from(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${why.length}\r\nconnection: close\r\n\r\n${why}`, "latin1"));
          sock.data.closing = true;
          flush(sock);
        }
      },
      drain: flush,
    },
  });
}

const JSON_BODY = Buffer.from("{}");
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n");

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
  const drain = () => new Promise<void>((r) => (drained = r));
  const send = async (body: Uint8Array) => {
    const done = new Promise<void>((r) => (answered = r));
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(body.length));
    const t = performance.now();
    await writeAll(sock, head, drain);
    await writeAll(sock, body, drain);
    await done;
    return performance.now() - t;
  };
  return { send, close: () => sock.end() };
}

/**
 * HTTP/1.1 to the sink on a plain kept TCP connection (http1.ts), the answer's body counted, not
 * kept: the sink's own cost over the raw loopback's. `put(body)` sends a PUT with its
 * Content-Length and waits for the answer; `get(n)` asks /bytes/n. Both give milliseconds. The load
 * generator's artifact client is the same code keeping the downloaded body in memory, so the step
 * from this tier to the client's figure is that copy.
 */
export function openRawHttp(port: number): { put(body: Uint8Array): Promise<number>; get(n: number): Promise<number> } {
  const exchange = async (url: URL, method: string, body?: Uint8Array) => {
    const t = performance.now();
    const a = await http1Request(url, { method, body, keepBody: false, headers: { "content-type": "application/octet-stream" } });
    const ms = performance.now() - t;
    if (a.status < 200 || a.status > 299) throw backendError(`the sink answered HTTP ${a.status} to a raw request`);
    return ms;
  };
  return {
    put: (body) => exchange(new URL(`http://127.0.0.1:${port}/raw`), "PUT", body),
    get: (n) => exchange(new URL(`http://127.0.0.1:${port}/bytes/${n}`), "GET"),
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
