/**
 * The MLflow servers under test, each with a way to read its peak memory: native (a process
 * group polled through /proc) or docker (the engine's stats of each container, polled).
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { startNativeMlflow } from "../backends/mlflow/native.ts";
import { MlflowClient } from "../backends/mlflow/client.ts";
import { startStack } from "../runtime/docker/start.ts";
import { fromSamples, type Figure, type Target } from "./figure.ts";
import { pollGroupMemory } from "./memory.ts";
import type { ServerInfo } from "./environment.ts";

export interface BenchServer {
  target: Target;
  url: string;
  info: ServerInfo;
  /** Peak-memory figures of the server since it started. */
  memory(): Promise<Figure[]>;
  stop(): Promise<void>;
}

/** `direct`: the server does not serve artifacts; clients write them to a local directory themselves. */
export async function startNative(python: string, workDir: string, workers = 1, direct = false): Promise<BenchServer> {
  const dir = join(workDir, direct ? "mlflow-native-direct-artifacts" : workers === 1 ? "mlflow-native" : `mlflow-native-${workers}-workers`);
  await mkdir(dir, { recursive: true });
  const server = await startNativeMlflow({ python, workDir: dir, workers, ...(direct ? { directArtifactRoot: join(dir, "artifact-store") } : {}) });
  const poll = pollGroupMemory(server.process.pid, 250);
  const version = await new MlflowClient(server.url).version().catch(() => undefined);
  const spec = { target: "mlflow-native", group: "memory", params: {}, unit: "bytes", better: "smaller" } as const;
  return {
    target: "mlflow-native",
    url: server.url,
    info: { target: "mlflow-native", version, workers, store: direct ? "sqlite, artifacts written by clients directly to a local directory (--no-serve-artifacts --default-artifact-root)" : "sqlite, served artifacts on local disk" },
    memory: async () => {
      const m = poll.snapshot();
      return [
        fromSamples({ ...spec, name: "memory.server.peak_rss", note: `polled sum of RSS over the server's process group (${m.polls} polls)` }, [m.peakRssBytes]),
        fromSamples({ ...spec, name: "memory.server.max_hwm", note: "largest VmHWM of one server process" }, [m.maxHwmBytes]),
      ];
    },
    stop: async () => {
      poll.stop();
      await server.stop();
    },
  };
}

export async function startDocker(assetRoot: string): Promise<BenchServer> {
  const run = await startStack(assetRoot, "mlflow");
  const mlflow = run.stack.services.mlflow!;
  const url = mlflow.url(5000).replace(/\/$/, "");
  const peak = new Map<string, number>();
  let stopped = false;
  // Each stats call samples for about a second: poll back to back until stopped.
  const poller = (async () => {
    while (!stopped) {
      for (const s of await run.stack.stats().catch(() => [])) peak.set(s.service, Math.max(peak.get(s.service) ?? 0, s.memoryBytes));
      await Bun.sleep(500);
    }
  })();
  const version = await new MlflowClient(url).version().catch(() => undefined);
  return {
    target: "mlflow-docker",
    url,
    info: { target: "mlflow-docker", version, workers: 1, store: "postgresql, served artifacts on a volume", image: mlflow.image, project: run.stack.project },
    memory: async () =>
      [...peak].map(([service, bytes]) =>
        fromSamples({ target: "mlflow-docker", group: "memory", name: "memory.server.peak_rss", params: { container: service }, unit: "bytes", better: "smaller", note: "peak of the engine's memory figure (page cache excluded), polled" }, [bytes]),
      ),
    stop: async () => {
      stopped = true;
      await poller;
      await run.stop();
    },
  };
}
