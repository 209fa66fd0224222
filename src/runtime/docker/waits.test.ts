import { describe, expect, test } from "bun:test";
import type Docker from "dockerode";
import { NotReady, Wait, waitUntilReady } from "./waits.ts";

// Inspect results as the engine returns them, without an engine: the strategies only read them.
const info = (state: Record<string, unknown>, ports: Record<string, { HostIp: string; HostPort: string }[]> = {}) =>
  ({ State: { Status: "running", Running: true, ...state }, NetworkSettings: { Ports: ports } }) as unknown as Docker.ContainerInspectInfo;
const ctx = (i: Docker.ContainerInspectInfo) => ({ docker: {} as Docker, containerId: "c", info: i });
const engine = (infos: Docker.ContainerInspectInfo[]) => {
  let n = 0;
  return { getContainer: () => ({ inspect: async () => infos[Math.min(n++, infos.length - 1)]! }) } as unknown as Docker;
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
