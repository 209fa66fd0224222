/**
 * HTTP/1.1 written and read on Bun's sockets: the framing of one message (a head, then a body by
 * Content-Length, chunked, or to the connection's end) read piece by piece as bytes arrive, and a
 * small keep-alive client built on it. The load generator moves artifact bytes with this client, to
 * MLflow and to the loopback sink alike, and the sink reads its requests with the same reader.
 *
 * Why not fetch: in the idle full profile (docs/benchmarks.md) Bun's fetch was the bound on most
 * artifact transfers that missed the harness goals: 1 KB upload at 3.99 MB/s against 12.0 for HTTP
 * written on a plain socket to the same sink, 64 KB at 274 against 564, 1 MB at 771 against 1,780.
 * What fetch adds there is its own machinery, not the wire: the request and answer are the same
 * bytes. Used for `http:` only, and not where a proxy from the environment applies (fetch knows
 * proxies and TLS; this client does neither): see `usesHttp1`.
 */
import type { Socket } from "bun";

/** A message's first line and its headers (names lower-cased; a repeated header joined by ", "). */
export interface Head {
  line: string;
  headers: Map<string, string>;
}

/** How a message's body is delimited (RFC 9112 section 6). */
export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

const MAX_HEAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** The framing of a request (no length and no chunking: no body) or of a response. */
export function framingOf(head: Head, message: "request" | "response", noBody = false): Framing {
  if (noBody) return { kind: "none" };
  const te = head.headers.get("transfer-encoding");
  if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) return { kind: "chunked" };
  const cl = head.headers.get("content-length");
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl.trim())) throw new Error(`a Content-Length that is not a number: "${cl}"`);
    return { kind: "length", length: Number(cl) };
  }
  return message === "request" ? { kind: "none" } : { kind: "close" };
}

function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i <= 0) throw new Error(`a header line without a name: "${l.slice(0, 80)}"`);
    const name = l.slice(0, i).trim().toLowerCase();
    const value = l.slice(i + 1).trim();
    const had = headers.get(name);
    headers.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  return { line: lines[0]!, headers };
}

export interface MessageHandlers {
  /** A head arrived: how its body is framed, and where its pieces go (views, valid only during the call). */
  head(head: Head): { framing: Framing; body?: (piece: Uint8Array) => void };
  /** The message's last byte arrived. */
  end(): void;
}

/**
 * Reads HTTP/1.1 messages from a connection's bytes, one after another (keep-alive, pipelining).
 * `push` throws on a malformed message; the connection is then unusable.
 */
export class MessageReader {
  private state: "head" | "length" | "size" | "data" | "data-end" | "trailer" | "close" = "head";
  /** Bytes of a head or a line that is not complete yet. */
  private pending: Buffer = EMPTY;
  private left = 0;
  private body?: (piece: Uint8Array) => void;

  constructor(private readonly on: MessageHandlers) {}

  /** Whether a message has begun and not ended (its head or body partly read). */
  get inMessage(): boolean {
    return this.state !== "head" || this.pending.length > 0;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case "head": {
          const text = this.until("\r\n\r\n", chunk, at);
          if (text === undefined) return;
          at = text.at;
          const { framing, body } = this.on.head(parseHead(text.text));
          this.body = body;
          if (framing.kind === "none" || (framing.kind === "length" && framing.length === 0)) this.finish();
          else if (framing.kind === "length") (this.state = "length"), (this.left = framing.length);
          else this.state = framing.kind === "chunked" ? "size" : "close";
          break;
        }
        case "length":
        case "data": {
          const n = Math.min(this.left, chunk.length - at);
          this.body?.(chunk.subarray(at, at + n));
          at += n;
          this.left -= n;
          if (this.left === 0) this.state === "length" ? this.finish() : (this.state = "data-end");
          break;
        }
        case "size":
        case "data-end":
        case "trailer": {
          const line = this.until("\r\n", chunk, at);
          if (line === undefined) return;
          at = line.at;
          if (this.state === "size") {
            const hex = line.text.split(";")[0]!.trim();
            const size = Number.parseInt(hex, 16);
            if (!/^[0-9a-f]+$/i.test(hex) || !Number.isFinite(size)) throw new Error(`a chunk size that is not hexadecimal: "${line.text.slice(0, 40)}"`);
            if (size === 0) this.state = "trailer";
            else (this.state = "data"), (this.left = size);
          } else if (this.state === "data-end") {
            if (line.text !== "") throw new Error("a chunk not followed by CRLF");
            this.state = "size";
          } else if (line.text === "") this.finish();
          break;
        }
        case "close":
          this.body?.(chunk.subarray(at));
          at = chunk.length;
          break;
      }
    }
  }

  /** The connection closed: ends a body read to the close; anywhere else within a message, throws. */
  eof(): void {
    if (this.state === "close") return this.finish();
    if (this.inMessage) throw new Error("the connection closed within a message");
  }

  /**
   * The text before `sep` (a head's blank line, a line's CRLF) from pending bytes and the chunk,
   * and where in the chunk reading goes on; undefined, the bytes kept pending, when `sep` has not
   * arrived yet.
   */
  private until(sep: string, chunk: Uint8Array, at: number): { text: string; at: number } | undefined {
    const rest = Buffer.from(chunk.buffer, chunk.byteOffset + at, chunk.length - at);
    const buf = this.pending.length ? Buffer.concat([this.pending, rest]) : rest;
    const end = buf.indexOf(sep);
    if (end < 0) {
      if (buf.length > MAX_HEAD) throw new Error(`a message head or line longer than ${MAX_HEAD} bytes`);
      this.pending = Buffer.from(buf); // a copy: the socket's buffer is reused
      return undefined;
    }
    const used = end + sep.length - this.pending.length;
    this.pending = EMPTY;
    return { text: buf.toString("latin1", 0, end), at: at + used };
  }

  private finish(): void {
    this.state = "head";
    this.body = undefined;
    this.on.end();
  }
}

/** Write all of `buf` to a Bun socket, waiting for drain when the kernel takes only part. */
export async function writeAll(sock: { write(b: Uint8Array): number }, buf: Uint8Array, drained: () => Promise<void>): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    off += Math.max(0, sock.write(buf.subarray(off)));
    if (off < buf.length) await drained();
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

/** Whether `url` goes through this client: plain http, and no proxy from the environment applies to it. */
export function usesHttp1(url: URL, env: Record<string, string | undefined> = process.env): boolean {
  if (url.protocol !== "http:") return false;
  if (LOOPBACK.test(url.hostname)) return true;
  return !(env.http_proxy || env.HTTP_PROXY);
}

export interface Answer {
  status: number;
  headers: Map<string, string>;
  /** The body, when kept (always for a non-2xx answer, up to 64 KB). */
  body: Uint8Array;
  /** Body bytes received (also when not kept). */
  bytes: number;
}

interface Exchange {
  resolve(a: Answer): void;
  reject(e: Error): void;
}

/** One kept connection to one origin; one exchange at a time. */
class Conn {
  closed = false;
  current?: Exchange;
  /** Whether any byte arrived during the present exchange. */
  heard = false;
  /** The present exchange's options (whether a 2xx body is kept, and where it may go). */
  private opts: RequestOptions = { method: "GET" };
  private drainWaiter?: () => void;
  private reader: MessageReader;
  private answer?: Answer & { parts: Uint8Array[]; filled: number };
  private sock!: Socket<undefined>;

  private constructor() {
    this.reader = new MessageReader({
      head: (h) => {
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(h.line)?.[1]);
        if (!Number.isFinite(status)) throw new Error(`not an HTTP/1.1 answer: "${h.line.slice(0, 80)}"`);
        const framing = framingOf(h, "response", status === 204 || status === 304 || (status >= 100 && status < 200));
        // Bytes of the body kept: a 2xx all of it (or none when only counted), any other answer
        // its first 64 KB (MLflow's error JSON).
        const ok = status >= 200 && status < 300;
        const keep = !ok ? 65536 : (this.opts.keepBody ?? true) ? Infinity : 0;
        const a: NonNullable<Conn["answer"]> = { status, headers: h.headers, body: EMPTY, bytes: 0, parts: [], filled: 0 };
        this.answer = a;
        if (/close/i.test(h.headers.get("connection") ?? "") || /^HTTP\/1\.0/.test(h.line)) this.closed = true;
        // A known length kept whole: one buffer, filled in place (not zeroed: every byte is written).
        const inPlace = keep === Infinity && framing.kind === "length";
        const into = this.opts.into;
        if (inPlace) a.body = into && into.length >= framing.length ? into.subarray(0, framing.length) : Buffer.allocUnsafe(framing.length);
        return {
          framing,
          body: (piece) => {
            a.bytes += piece.length;
            if (inPlace) a.body.set(piece, a.filled), (a.filled += piece.length);
            else if (a.filled < keep) a.parts.push(piece.slice()), (a.filled += piece.length);
          },
        };
      },
      end: () => {
        const a = this.answer!;
        this.answer = undefined;
        // An interim answer (100 Continue, 102, 103) precedes the real one: keep waiting.
        if (a.status >= 100 && a.status < 200 && a.status !== 101) return;
        if (a.parts.length) a.body = Buffer.concat(a.parts);
        const x = this.current;
        this.current = undefined;
        x?.resolve({ status: a.status, headers: a.headers, body: a.body, bytes: a.bytes });
      },
    });
  }

  static async open(host: string, port: number): Promise<Conn> {
    const c = new Conn();
    c.sock = await Bun.connect({
      hostname: host.replace(/^\[|\]$/g, ""),
      port,
      socket: {
        data: (_s, d) => {
          c.heard = true;
          try {
            c.reader.push(d);
          } catch (err) {
            c.fail(err as Error);
          }
        },
        drain: () => c.drainWaiter?.(),
        close: () => {
          c.closed = true;
          try {
            c.reader.eof();
          } catch (err) {
            c.fail(noAnswer("ECONNRESET", `the server closed the connection within its answer (${(err as Error).message})`));
          }
          c.fail(noAnswer("ECONNRESET", "the server closed the connection before answering"));
        },
        error: (_s, err) => c.fail(err),
      },
    });
    c.sock.setNoDelay(true);
    return c;
  }

  fail(err: Error): void {
    this.closed = true;
    this.drainWaiter?.();
    const x = this.current;
    this.current = undefined;
    x?.reject(err);
    this.sock?.end();
  }

  async exchange(head: Uint8Array, o: RequestOptions): Promise<Answer> {
    const body = o.body;
    const timeoutMs = o.timeoutMs ?? 300_000;
    this.heard = false;
    this.opts = o;
    const answered = new Promise<Answer>((resolve, reject) => (this.current = { resolve, reject }));
    const timer = setTimeout(() => this.fail(noAnswer("ETIMEDOUT", `no whole answer within ${timeoutMs / 1000} s (timed out)`)), timeoutMs);
    // A write waiting for drain on a connection that closed would wait for ever: it fails instead.
    const drained = () => (this.closed ? Promise.reject(noAnswer("ECONNRESET", "the connection closed while the request was being sent")) : new Promise<void>((r) => (this.drainWaiter = r)));
    let sent = false;
    const sending = (async () => {
      // A small body goes in the head's packet (one write, as fetch sends it).
      if (body && body.length <= 65536) await writeAll(this.sock, Buffer.concat([head, body]), drained);
      else {
        await writeAll(this.sock, head, drained);
        if (body) await writeAll(this.sock, body, drained);
      }
      sent = true;
    })();
    try {
      // The server may answer before it read the whole body (a 413, a proxy's 502): that answer
      // counts, and the connection, half-written, is not kept.
      const a = await Promise.race([answered, sending.then(() => answered)]);
      if (!sent) this.close();
      return a;
    } finally {
      sending.catch(() => {});
      clearTimeout(timer);
    }
  }

  close(): void {
    this.closed = true;
    this.drainWaiter?.();
    this.sock?.end();
  }
}

/** A request that got no (whole) answer, with the errno-like code faults.ts knows as "no answer". */
function noAnswer(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Idle kept connections per origin (host:port). */
const idle = new Map<string, Conn[]>();

export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Keep a 2xx answer's body (false: count it only). */
  keepBody?: boolean;
  /** Where a kept body of a known length goes when it fits (a buffer reused across calls, already in memory). */
  into?: Uint8Array;
  timeoutMs?: number;
}

/**
 * One request over a kept connection to the URL's origin (opened when none is idle). A kept
 * connection the server closed before answering (its keep-alive ran out) is retried once on a new
 * one; the request is an artifact PUT or a GET, both idempotent. Redirects are not followed: the
 * caller sees the 3xx.
 */
export async function http1Request(url: URL, o: RequestOptions): Promise<Answer> {
  const origin = `${url.hostname}:${url.port || 80}`;
  const lines = [`${o.method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (/[\r\n]/.test(k + v)) throw new Error(`the header ${JSON.stringify(k)} holds a line break; it cannot be sent`);
    if (!/^(host|content-length|transfer-encoding|connection)$/i.test(k)) lines.push(`${k}: ${v}`);
  }
  if (o.body || o.method === "PUT" || o.method === "POST") lines.push(`content-length: ${o.body?.length ?? 0}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  for (let attempt = 0; ; attempt++) {
    const pool = idle.get(origin) ?? [];
    let conn = pool.pop();
    while (conn?.closed) conn = pool.pop();
    const reused = conn !== undefined;
    try {
      conn ??= await Conn.open(url.hostname, Number(url.port || 80));
    } catch (err) {
      throw noAnswer((err as { code?: string }).code ?? "ECONNREFUSED", `could not connect to ${url.host}: ${(err as Error).message}`);
    }
    try {
      const a = await conn.exchange(head, o);
      if (!conn.closed) idle.set(origin, [...(idle.get(origin) ?? []), conn]);
      return a;
    } catch (err) {
      conn.close();
      // Only a close before any answer byte (not a timeout: that would double the wait).
      if (reused && attempt === 0 && !conn.heard && (err as { code?: string }).code === "ECONNRESET") continue;
      throw err;
    }
  }
}

/** Close every idle kept connection (the end of a run; also lets a test's server stop at once). */
export function closeIdle(): void {
  for (const conns of idle.values()) for (const c of conns) c.close();
  idle.clear();
}
