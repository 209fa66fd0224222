import { describe, expect, test } from "bun:test";
import type Docker from "dockerode";
import { newSession, sessionLabels } from "./session.ts";
import { dockerTestEnv, LOCAL_IMAGES } from "./testing.ts";
import { NotReady, Wait, waitUntilReady } from "./waits.ts";

// Inspect results as the engine returns them, without an engine: the strategies only read them.
const info = (state: Record<string, unknown>, ports: Record<string, { HostIp: string; HostPort: string }[]> = {}) =>
  ({ State: { Status: "running", Running: true, ...state }, NetworkSettings: { Ports: ports } }) as unknown as Docker.ContainerInspectInfo;
const ctx = (i: Docker.ContainerInspectInfo) => ({ docker: {} as Docker, containerId: "c", info: i });
const engine = (infos: Docker.ContainerInspectInfo[]) => {
  let n = 0;
  return { getContainer: () => ({ inspect: async () => infos[Math.min(n++, infos.length - 1)]! }) } as unknown as Docker;
};

/** The engine's multiplexed log framing: 8-byte header (1 stdout, 2 stderr; 0, 0, 0; size), then the bytes. */
const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};
/** An engine whose container log grows by one chunk per look; it records the options it was asked with. */
const logEngine = (chunks: Buffer[], asked: Record<string, unknown>[] = []) => {
  let n = 0;
  const container = {
    inspect: async () => info({}),
    logs: async (o: Record<string, unknown>) => {
      asked.push(o);
      return Buffer.concat(chunks.slice(0, ++n));
    },
  };
  return { getContainer: () => container } as unknown as Docker;
};

describe("Wait strategies", () => {
  test("forRunning: running is ready; exited is NotReady with the exit code", async () => {
    expect(await Wait.forRunning().look(ctx(info({})))).toEqual({ ready: true });
    expect(await Wait.forRunning().look(ctx(info({ Status: "created", Running: false })))).toEqual({ ready: false, seen: "created" });
    await expect(Wait.forRunning().look(ctx(info({ Status: "exited", Running: false, ExitCode: 3 })))).rejects.toThrow(/exited with code 3 before it was ready/);
  });
  test("forHealthcheck: healthy, starting (with the last probe's output), unhealthy", async () => {
    expect(await Wait.forHealthcheck().look(ctx(info({ Health: { Status: "healthy" } })))).toEqual({ ready: true });
    expect(await Wait.forHealthcheck().look(ctx(info({ Health: { Status: "starting", Log: [{ ExitCode: 1, Output: "no\nconnection" }] } })))).toEqual({ ready: false, seen: "last health check exit 1: no | connection" });
    await expect(Wait.forHealthcheck().look(ctx(info({ Health: { Status: "unhealthy" } })))).rejects.toBeInstanceOf(NotReady);
  });
  test("forHttp: the published port answers 2xx, or the status asked for", async () => {
    const srv = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r) => new Response("", { status: new URL(r.url).pathname === "/ok" ? 200 : 503 }) });
    try {
      const i = info({}, { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(srv.port) }] });
      expect(await Wait.forHttp("/ok", 5000).look(ctx(i))).toEqual({ ready: true });
      expect(await Wait.forHttp("/down", 5000).look(ctx(i))).toEqual({ ready: false, seen: `GET http://127.0.0.1:${srv.port}/down -> 503` });
      expect(await Wait.forHttp("/down", 5000, { status: 503 }).look(ctx(i))).toEqual({ ready: true });
      expect((await Wait.forHttp("/ok", 6000).look(ctx(i))).ready).toBe(false);
    } finally {
      srv.stop(true);
    }
  });
  test("forLogLine: a whole line of stdout or stderr matches, across frames; else not ready, saying so", async () => {
    const asked: Record<string, unknown>[] = [];
    const look = (chunks: Buffer[], re: RegExp, tail?: number) => Wait.forLogLine(re, tail).look({ docker: logEngine(chunks, asked), containerId: "c", info: info({}) });
    const ready = /database system is ready to accept connections$/;
    // On stderr, the line split over two frames, as the engine may cut it.
    const split = Buffer.concat([frame(1, "init\n"), frame(2, "LOG:  database system is rea"), frame(2, "dy to accept connections\nmore\n")]);
    expect(await look([split], ready)).toEqual({ ready: true });
    expect(asked.at(-1)).toMatchObject({ stdout: true, stderr: true, tail: 200, follow: false });
    // Not there yet: not ready, naming the pattern; the match is per line, so `^...$` cannot span two.
    expect(await look([frame(1, "LOG:  database system is ready to accept connections soon\n")], ready)).toEqual({ ready: false, seen: `no log line matches ${ready}` });
    expect((await look([frame(1, "ab\ncd\n")], /^abcd$|b\ncd/)).ready).toBe(false);
    expect((await look([frame(1, "ab\ncd\n")], /^cd$/, 5)).ready).toBe(true);
    expect(asked.at(-1)).toMatchObject({ tail: 5 });
    // A log that cannot be read is not ready (the deadline decides), not a crash.
    const broken = { getContainer: () => ({ logs: async () => Promise.reject(new Error("no such container")) }) } as unknown as Docker;
    expect(await Wait.forLogLine(ready).look({ docker: broken, containerId: "c", info: info({}) })).toEqual({ ready: false, seen: `no log line matches ${ready}` });
  });
  test("forLogLine in waitUntilReady: ready once the line appears; the deadline names the pattern", async () => {
    const ac = new AbortController();
    const o = { deadline: Date.now() + 10_000, timeoutMs: 10_000, signal: ac.signal, intervalMs: 10 };
    const engine = logEngine([frame(1, "starting\n"), frame(1, "still starting\n"), frame(2, "listening on 5000\n")]);
    expect(await waitUntilReady(engine, "c", Wait.forLogLine(/^listening on \d+$/), o)).toBeGreaterThanOrEqual(0);
    await expect(waitUntilReady(logEngine([frame(1, "starting\n")]), "c", Wait.forLogLine(/^listening/), { ...o, deadline: Date.now() + 50, timeoutMs: 50 })).rejects.toThrow(
      "not ready within 0 s (log line /^listening/: no log line matches /^listening/)",
    );
  });
  test("waitUntilReady: ready once every strategy is; the deadline names what was last seen", async () => {
    const s = Wait.forAll([Wait.forRunning(), Wait.forHealthcheck()]);
    const ac = new AbortController();
    const secs = await waitUntilReady(engine([info({ Health: { Status: "starting" } }), info({ Health: { Status: "healthy" } })]), "c", s, { deadline: Date.now() + 10_000, timeoutMs: 10_000, signal: ac.signal, intervalMs: 10 });
    expect(secs).toBeGreaterThanOrEqual(0);
    await expect(waitUntilReady(engine([info({ Health: { Status: "starting" } })]), "c", s, { deadline: Date.now() + 50, timeoutMs: 50, signal: ac.signal, intervalMs: 10 })).rejects.toThrow(
      /not ready within 0 s \(running \+ healthy: health starting\)/,
    );
  });
});

const real = await dockerTestEnv([LOCAL_IMAGES.postgres]);
describe(`forLogLine on a real container${real.skip ? ` (SKIPPED: ${real.skip})` : ""}`, () => {
  test.skipIf(!!real.skip)("sees a line the container writes to stderr after a while, and times out on one it never writes", async () => {
    const docker = real.engine!.docker;
    const c = await docker.createContainer({
      Image: LOCAL_IMAGES.postgres,
      Entrypoint: ["sh", "-c", "echo booting; sleep 1; echo 'server is READY' >&2; sleep 120"],
      Labels: sessionLabels(newSession()),
    });
    try {
      await c.start();
      const ac = new AbortController();
      const o = { deadline: Date.now() + 30_000, timeoutMs: 30_000, signal: ac.signal, intervalMs: 200 };
      expect(await waitUntilReady(docker, c.id, Wait.forAll([Wait.forRunning(), Wait.forLogLine(/^server is READY$/)]), o)).toBeGreaterThanOrEqual(0);
      await expect(waitUntilReady(docker, c.id, Wait.forLogLine(/^never$/), { ...o, deadline: Date.now() + 500, timeoutMs: 500 })).rejects.toThrow(/no log line matches \/\^never\$\//);
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
  }, 60_000);
});
