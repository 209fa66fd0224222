/** The environment block of a bench result: machine, OS, runtimes, packages and servers. */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { hostEnvironment } from "../run/environment.ts";
import { driverGpus } from "../util/gpus.ts";
import type { PythonEnv } from "../runtime/python/env.ts";
import mitataPkg from "mitata/package.json" with { type: "json" };

export interface ServerInfo {
  target: string;
  version?: string;
  /** uvicorn workers of the MLflow server: pinned to 1 (MLflow 3 defaults to 4, too many for 2 cores). */
  workers?: number;
  store?: string;
  image?: string;
  /** Prefix of the docker stack's resource names. */
  project?: string;
  /** False for a server by URL: its worker count is not visible over its API. */
  workersVisible?: boolean;
  /** The server answered as one of e2e's test doubles (tests/doubles/): its figures measure the double. */
  testDouble?: boolean;
}

export function benchEnvironment(python: PythonEnv | undefined, servers: ServerInfo[]): Record<string, unknown> {
  const torch = python?.info.torch;
  return {
    ...hostEnvironment(),
    kernel: readText("/proc/sys/kernel/osrelease"),
    distro: /PRETTY_NAME="?([^"\n]+)/.exec(readText("/etc/os-release") ?? "")?.[1],
    gpu: torch?.cuda ? torch.devices : driverGpus(),
    mitata: mitataPkg.version,
    python: python ? { executable: python.info.executable, version: python.info.python, kind: python.kind, packages: python.info.packages, torch: torch?.version } : undefined,
    // Servers e2e starts run 1 worker; a server by URL does not say how many it runs.
    mlflowWorkers: servers.some((s) => s.workersVisible === false) ? null : Math.max(1, ...servers.map((s) => s.workers ?? 1)),
    // Other work on the machine skews every figure: the 1/5/15-minute load when this was written.
    loadAverage: loadavg(),
    servers,
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Said in every report when a server by URL answered as e2e's test double: whose figures they are. */
export function testDoubleNote(environment: Record<string, unknown>): string | undefined {
  const doubles = ((environment.servers ?? []) as ServerInfo[]).filter((x) => x.testDouble).map((x) => x.target);
  return doubles.length ? `${doubles.join(", ")}: measured against e2e's test double of that server (tests/doubles/), not a real server; these figures measure the double` : undefined;
}
