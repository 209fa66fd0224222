/**
 * When a container counts as ready, named as in testcontainers: `Wait.forHealthcheck()`,
 * `Wait.forHttp(path, port)`, `Wait.forLogLine(re)`, `Wait.forAll([...])`, each looked at until a
 * deadline by waitUntilReady(). A container that exits, or a health check that reports
 * unhealthy, ends the wait at once (NotReady); the deadline ends it with what was last seen.
 */
import type Docker from "dockerode";
import { containerLogs } from "./container-logs.ts";

/** What one look at a container found. */
export type Look = { ready: true } | { ready: false; seen: string };

export interface WaitContext {
  docker: Docker;
  containerId: string;
  /** The container's inspect, taken once per round for every strategy. */
  info: Docker.ContainerInspectInfo;
}

export interface WaitStrategy {
  /** "healthy", "GET /health on 5000": for plans and messages. */
  describe: string;
  look(ctx: WaitContext): Promise<Look>;
}

/** The container can never become ready (it exited, its health check says unhealthy). */
export class NotReady extends Error {}

type Health = { Status?: string; Log?: { ExitCode?: number; Output?: string }[] };

const msgOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).trim();

/** Host port the engine published for a container port (127.0.0.1 bindings). */
export function publishedPort(info: Docker.ContainerInspectInfo, containerPort: number, protocol: "tcp" | "udp" = "tcp"): number | undefined {
  const b = info.NetworkSettings?.Ports?.[`${containerPort}/${protocol}`];
  const hit = b?.find((x) => x.HostIp === "127.0.0.1") ?? b?.[0];
  const port = Number(hit?.HostPort);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

export const Wait = {
  /** Running (a container with no health check and no probe). Exited or dead: NotReady. */
  forRunning(): WaitStrategy {
    return {
      describe: "running",
      look: async ({ info }) => {
        const st = info.State;
        if (st.Status === "exited" || st.Status === "dead" || (!st.Running && st.Status !== "created" && st.Status !== "restarting"))
          throw new NotReady(`exited with code ${st.ExitCode}${st.Error ? ` (${st.Error})` : ""} before it was ready`);
        return st.Running ? { ready: true } : { ready: false, seen: st.Status };
      },
    };
  },

  /** The image's or compose file's HEALTHCHECK reports healthy; unhealthy is NotReady. */
  forHealthcheck(): WaitStrategy {
    return {
      describe: "healthy",
      look: async ({ info }) => {
        const health = (info.State as { Health?: Health }).Health;
        const last = health?.Log?.at(-1);
        const seen = last ? `last health check exit ${last.ExitCode}: ${(last.Output ?? "").trim().split("\n").slice(-3).join(" | ")}` : `health ${health?.Status ?? "unknown"}`;
        if (health?.Status === "unhealthy") throw new NotReady(`became unhealthy (${seen})`);
        return health?.Status === "healthy" ? { ready: true } : { ready: false, seen };
      },
    };
  },

  /** GET http://127.0.0.1:<published port><path> answers 2xx (or exactly `status`). */
  forHttp(path: string, port: number, o: { status?: number } = {}): WaitStrategy {
    return {
      describe: `GET ${path} on ${port}`,
      look: async ({ info }) => {
        const hp = publishedPort(info, port);
        if (!hp) return { ready: false, seen: `port ${port} not published yet` };
        const url = `http://127.0.0.1:${hp}${path}`;
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3000), redirect: "manual" });
          await res.arrayBuffer().catch(() => undefined);
          const ok = o.status ? res.status === o.status : res.status >= 200 && res.status < 300;
          return ok ? { ready: true } : { ready: false, seen: `GET ${url} -> ${res.status}` };
        } catch (e) {
          return { ready: false, seen: `GET ${url}: ${msgOf(e)}` };
        }
      },
    };
  },

  /** A line of the container's log (stdout or stderr) matches `re`. */
  forLogLine(re: RegExp, tail = 200): WaitStrategy {
    return {
      describe: `log line ${re}`,
      look: async ({ docker, containerId }) => {
        const logs = await containerLogs(docker, containerId, tail);
        return logs.split("\n").some((l) => re.test(l)) ? { ready: true } : { ready: false, seen: `no log line matches ${re}` };
      },
    };
  },

  /** Every strategy, in order; the first not ready says what it saw. */
  forAll(strategies: WaitStrategy[]): WaitStrategy {
    return {
      describe: strategies.map((s) => s.describe).join(" + "),
      look: async (ctx) => {
        for (const s of strategies) {
          const l = await s.look(ctx);
          if (!l.ready) return l;
        }
        return { ready: true };
      },
    };
  },
};

export interface WaitUntilOptions {
  /** Epoch ms after which the wait fails with what was last seen. */
  deadline: number;
  /** For the message: the budget the deadline came from. */
  timeoutMs: number;
  /** Stops the wait between looks (the caller decides what an abort means). */
  signal: AbortSignal;
  intervalMs?: number;
}

/** Look until ready; NotReady on a terminal state or at the deadline. Returns the seconds it took. */
export async function waitUntilReady(docker: Docker, containerId: string, strategy: WaitStrategy, o: WaitUntilOptions): Promise<number> {
  const since = performance.now();
  const c = docker.getContainer(containerId);
  for (;;) {
    if (o.signal.aborted) throw o.signal.reason;
    const info = await c.inspect();
    const look = await strategy.look({ docker, containerId, info });
    if (look.ready) return (performance.now() - since) / 1000;
    if (Date.now() > o.deadline) throw new NotReady(`not ready within ${Math.round(o.timeoutMs / 1000)} s (${strategy.describe}: ${look.seen})`);
    await sleep(o.intervalMs ?? 500, o.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
