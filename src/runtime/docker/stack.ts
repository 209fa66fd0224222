/**
 * Bringing a StackDef up on an engine and down again, through dockerode.
 *
 * up(): reap what dead sessions left (unless told not to), check every image is present (nothing
 * is pulled), create the network and volumes, then create and start containers in dependency
 * order (depends_on conditions honoured, independent services in parallel), and wait until every
 * service is ready (readinessOf: Wait.forHealthcheck(), or running when it has none, plus
 * Wait.forHttp() for its x-e2e-ready probe through the published port; waits.ts) before a deadline. Any failure, or an abort through
 * `signal` (Ctrl-C), removes everything of the stack there and then; the error carries the
 * failing container's last log lines.
 *
 * Every resource is labelled e2e.session / e2e.stack / e2e.project / e2e.pid / e2e.host, so
 * `down()`, removeSession() and the reaper find them by label alone.
 */
import type Docker from "dockerode";
import type { ServiceDef, StackDef } from "./compose.ts";
import { stackImages, startOrder } from "./compose.ts";
import { containerLogs } from "./container-logs.ts";
import { type Engine } from "./engine.ts";
import { requireImages } from "./images.ts";
import { reap, type ReapReport, removeLabelled, type RemovedResources } from "./reaper.ts";
import { LABEL, type Session, sessionLabels } from "./session.ts";
import { NotReady, Wait, waitUntilReady, type WaitStrategy } from "./waits.ts";

export interface UpOptions {
  session: Session;
  /** Prefix of every resource name; default `e2e-<stack>-<first 8 of session id>`. */
  project?: string;
  /** Deadline for the whole start-up, in ms (default 300000). */
  timeoutMs?: number;
  /** Abort (e.g. on Ctrl-C): start-up stops, everything created is removed, the promise rejects. */
  signal?: AbortSignal;
  /** Label the stack e2e.keep=true: the reaper leaves it running after this process exits. */
  keep?: boolean;
  /** Run the reaper for dead sessions first (default true). */
  reap?: boolean;
  /** Log lines of the failing container kept in the error (default 40). */
  logTail?: number;
  /** Progress lines ("postgres: started", "mlflow: healthy after 23.1 s"). */
  onProgress?: (line: string) => void;
  /** Hint appended to the missing-images error. */
  missingImagesHint?: string;
}

export interface StartedService {
  name: string;
  image: string;
  containerId: string;
  containerName: string;
  /** Host port (on 127.0.0.1) the engine published for `containerPort`; throws if not published. */
  hostPort(containerPort: number, protocol?: "tcp" | "udp"): number;
  /** http://127.0.0.1:<hostPort><path>. */
  url(containerPort: number, path?: string): string;
}

export interface ContainerStatsSample {
  service: string;
  container: string;
  /** Memory in use, page cache excluded (what `docker stats` shows). */
  memoryBytes: number;
  memoryLimitBytes: number;
  /** Percent of one CPU (100 = one core busy), over the engine's sampling interval. */
  cpuPercent: number;
  pids?: number;
  /** ISO time of the sample. */
  read: string;
}

export interface StartedStack extends AsyncDisposable {
  name: string;
  project: string;
  session: Session;
  network: string;
  /** Engine names of the stack's volumes. */
  volumes: string[];
  services: Record<string, StartedService>;
  /** Reaper's report from before the start, when it ran. */
  reaped?: ReapReport;
  /** Seconds from the call to every service ready. */
  startSeconds: number;
  /** Remove containers (with anonymous volumes), network, volumes. Idempotent. */
  down(): Promise<RemovedResources>;
  /** One-shot memory/CPU figures of every running container of the stack. */
  stats(): Promise<ContainerStatsSample[]>;
  /** Last `tail` log lines of a service. */
  logs(service: string, tail?: number): Promise<string>;
  /** Commands that reach and remove the stack by hand (for `up --keep`). */
  howTo(): string[];
}

/** A failed start-up. Everything created was already removed when this is thrown. */
export class StackStartError extends Error {
  override name = "StackStartError";
  constructor(
    message: string,
    readonly stackName: string,
    readonly service: string | undefined,
    /** Last log lines of the failing container ("" when none). */
    readonly logs: string,
    /** What the cleanup removed. */
    readonly removed?: RemovedResources,
  ) {
    super(message);
  }
}

class ServiceFailure extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(message);
  }
}

const ABORTED = Symbol("aborted");

const ns = (ms: number) => Math.round(ms * 1e6);
const msgOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).trim();

function dockerOf(engine: Engine | Docker): Docker {
  return "docker" in engine && "source" in engine ? engine.docker : (engine as Docker);
}

/** Engine resource names for a stack; exported for plans and tests. */
export function resourceNames(stack: StackDef, project: string) {
  return {
    network: project,
    container: (service: string) => `${project}-${service}`,
    volume: (name: string) => `${project}_${name}`,
  };
}

/** What up() will do, without an engine: for `--dry-run` and tests. */
export function plan(stack: StackDef, project: string): string[] {
  const n = resourceNames(stack, project);
  const lines = [`network ${n.network}`];
  for (const v of stack.volumes) lines.push(`volume ${n.volume(v)}`);
  startOrder(stack).forEach((level, i) => {
    for (const s of level) {
      const svc = stack.services[s]!;
      const deps = svc.dependsOn.map((d) => `${d.service} ${d.condition === "service_healthy" ? "healthy" : "started"}`);
      const ports = svc.ports.map((p) => `${p.hostIp}:${p.hostPort ?? "<free>"}->${p.containerPort}/${p.protocol}`);
      lines.push(
        `step ${i + 1}: container ${n.container(s)} (${svc.image})` +
          (deps.length ? ` after ${deps.join(", ")}` : "") +
          (ports.length ? ` ports ${ports.join(" ")}` : "") +
          ` wait ${readinessOf(svc).describe}`,
      );
    }
  });
  return lines;
}

function containerSpec(stack: StackDef, svc: ServiceDef, project: string, labels: Record<string, string>): Docker.ContainerCreateOptions {
  const n = resourceNames(stack, project);
  const exposed: Record<string, {}> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of svc.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : "" });
  }
  const spec: Docker.ContainerCreateOptions = {
    name: n.container(svc.name),
    Image: svc.image,
    Env: Object.entries(svc.environment).map(([k, v]) => `${k}=${v}`),
    Labels: { ...labels, [LABEL.service]: svc.name },
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: n.network,
      PortBindings: bindings,
      Mounts: svc.volumes.map((v) => ({ Type: "volume" as const, Source: n.volume(v.source), Target: v.target, ReadOnly: v.readOnly })),
      RestartPolicy: { Name: "no" },
    },
    NetworkingConfig: { EndpointsConfig: { [n.network]: { Aliases: [svc.name] } } },
  };
  if (svc.command) spec.Cmd = svc.command;
  if (svc.entrypoint) spec.Entrypoint = svc.entrypoint;
  if (svc.healthcheck) {
    const h = svc.healthcheck;
    spec.Healthcheck = { Test: h.test, Interval: ns(h.intervalMs), Timeout: ns(h.timeoutMs), Retries: h.retries, StartPeriod: ns(h.startPeriodMs) };
  }
  return spec;
}

function portTakenHint(svc: ServiceDef, message: string): string | undefined {
  if (!/port is already allocated|address already in use|bind/i.test(message)) return undefined;
  const fixed = svc.ports.filter((p) => p.hostPort).map((p) => `127.0.0.1:${p.hostPort}`);
  return `host port ${fixed.join(", ") || "?"} is taken (${message.split("\n")[0]}): free it, or choose another with the stack's *_PORT variable, or leave that empty for a free port`;
}

/**
 * When a service is ready: its health check healthy (or running when it has none), then its
 * x-e2e-ready HTTP probe through the published port.
 */
export function readinessOf(svc: ServiceDef): WaitStrategy {
  const base = svc.healthcheck ? Wait.forAll([Wait.forRunning(), Wait.forHealthcheck()]) : Wait.forRunning();
  const describe = svc.healthcheck ? "healthy" : "running";
  const all = svc.httpReady ? Wait.forAll([base, Wait.forHttp(svc.httpReady.path, svc.httpReady.port, { status: svc.httpReady.status })]) : base;
  return { ...all, describe: svc.httpReady ? `${describe} + GET ${svc.httpReady.path} on ${svc.httpReady.port}` : describe };
}

/** Bring a stack up; see the file comment. Rejects with StackStartError, MissingImagesError or an abort error. */
export async function up(engine: Engine | Docker, stack: StackDef, opts: UpOptions): Promise<StartedStack> {
  const docker = dockerOf(engine);
  const t0 = performance.now();
  const session = opts.session;
  const project = opts.project ?? `e2e-${stack.name}-${session.id.replace(/-/g, "").slice(0, 8)}`;
  const names = resourceNames(stack, project);
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  const progress = opts.onProgress ?? (() => {});
  const logTail = opts.logTail ?? 40;
  const labels: Record<string, string> = {
    ...sessionLabels(session),
    [LABEL.stack]: stack.name,
    [LABEL.project]: project,
    ...(opts.keep ? { [LABEL.keep]: "true" } : {}),
  };
  const stackFilter = [`${LABEL.session}=${session.id}`, `${LABEL.project}=${project}`];
  const abortError = () => {
    const reason = opts.signal?.reason;
    return reason instanceof Error ? reason : new Error(`stack ${stack.name}: start-up interrupted${reason ? ` (${String(reason)})` : ""}`);
  };

  if (opts.signal?.aborted) throw abortError();
  // 1. What dead sessions left; 2. every image present (nothing is pulled).
  const reaped = opts.reap ?? true ? await reapDead(docker, session, progress) : undefined;
  await requireImages(docker, stackImages(stack), opts.missingImagesHint);

  // From here on, every exit path but success removes what was created.
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(ABORTED);
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const containerIds = new Map<string, string>();
  const started = new Map<string, Promise<void>>();
  const ready = new Map<string, Promise<void>>();
  let firstFailure: ServiceFailure | Error | undefined;
  const fail = (e: unknown) => {
    if (!firstFailure && !(inner.signal.aborted && inner.signal.reason === ABORTED)) firstFailure = e instanceof Error ? e : new Error(String(e));
    if (!inner.signal.aborted) inner.abort(new Error("another service failed"));
  };
  const checkAbort = () => {
    if (inner.signal.aborted) throw inner.signal.reason === ABORTED ? abortError() : new Error("start-up stopped");
  };

  const startService = (name: string): Promise<void> => {
    let p = started.get(name);
    if (p) return p;
    p = (async () => {
      const svc = stack.services[name]!;
      for (const dep of svc.dependsOn) {
        await (dep.condition === "service_healthy" ? readyService(dep.service) : startService(dep.service));
      }
      checkAbort();
      const c = await docker.createContainer(containerSpec(stack, svc, project, labels));
      containerIds.set(name, c.id);
      checkAbort();
      try {
        await c.start();
      } catch (e) {
        throw new ServiceFailure(name, portTakenHint(svc, msgOf(e)) ?? `could not start: ${msgOf(e)}`);
      }
      progress(`${name}: started (${svc.image})`);
    })();
    p.catch(fail);
    started.set(name, p);
    return p;
  };

  const readyService = (name: string): Promise<void> => {
    let p = ready.get(name);
    if (p) return p;
    p = (async () => {
      await startService(name);
      const seconds = await waitUntilReady(docker, containerIds.get(name)!, readinessOf(stack.services[name]!), { deadline, timeoutMs, signal: inner.signal }).catch((e) => {
        checkAbort();
        throw e instanceof NotReady ? new ServiceFailure(name, e.message) : e;
      });
      progress(`${name}: ready after ${seconds.toFixed(1)} s`);
    })();
    p.catch(fail);
    ready.set(name, p);
    return p;
  };

  try {
    // 3. The network and volumes; 4. every service in dependency order, each until readinessOf() holds.
    await docker.createNetwork({ Name: names.network, Driver: "bridge", CheckDuplicate: true, Labels: labels });
    for (const v of stack.volumes) await docker.createVolume({ Name: names.volume(v), Labels: labels });
    progress(`network ${names.network} and ${stack.volumes.length} volume(s) created`);
    await Promise.allSettled(startOrder(stack).flat().map(readyService));
    if (firstFailure || inner.signal.aborted) throw firstFailure ?? abortError();
  } catch (e0) {
    // Let in-flight creations land before removing, so nothing escapes the cleanup.
    if (!inner.signal.aborted) inner.abort(new Error("start-up failed"));
    await Promise.allSettled([...started.values(), ...ready.values()]);
    const e = firstFailure ?? e0;
    const failing = e instanceof ServiceFailure ? e.service : undefined;
    const cid = failing ? containerIds.get(failing) : undefined;
    const logs = cid ? await containerLogs(docker, cid, logTail) : "";
    const removed = await removeLabelled(docker, stackFilter).catch(() => undefined);
    opts.signal?.removeEventListener("abort", onOuterAbort);
    if (opts.signal?.aborted && !(e instanceof ServiceFailure)) throw abortError();
    const where = failing ? `service ${failing} (container ${names.container(failing)})` : "setup";
    let message = `stack ${stack.name}: ${where}: ${msgOf(e)}`;
    if (logs) message += `\n--- last ${logTail} log lines of ${names.container(failing!)} ---\n${logs}\n---`;
    if (removed?.errors.length) message += `\ncleanup left: ${removed.errors.join("; ")}`;
    throw new StackStartError(message, stack.name, failing, logs, removed);
  }
  opts.signal?.removeEventListener("abort", onOuterAbort);
  // 5. The started stack: its published ports, how to reach it, how to remove it.
  return startedStack(docker, stack, { project, session, names, containerIds, stackFilter, reaped, keep: !!opts.keep, startSeconds: (performance.now() - t0) / 1000 });
}

/** Remove what dead sessions left, saying so. */
async function reapDead(docker: Docker, session: Session, progress: (line: string) => void): Promise<ReapReport> {
  const reaped = await reap(docker, { olderSessionsOnly: true, except: session.id });
  if (reaped.sessions.length)
    progress(`reaped ${reaped.sessions.length} dead session(s): ${reaped.containers.length} container(s), ${reaped.networks.length} network(s), ${reaped.volumes.length} volume(s)`);
  return reaped;
}

interface StartedParts {
  project: string;
  session: Session;
  names: ReturnType<typeof resourceNames>;
  containerIds: Map<string, string>;
  stackFilter: string[];
  reaped?: ReapReport;
  keep: boolean;
  startSeconds: number;
}

/** The StartedStack of a stack whose every service is ready: ports read once, down() removes by label. */
async function startedStack(docker: Docker, stack: StackDef, p: StartedParts): Promise<StartedStack> {
  const { project, session, names, containerIds, stackFilter, reaped } = p;
  const opts = { keep: p.keep };
  // Published ports, read once everything runs.
  const services: Record<string, StartedService> = {};
  for (const [name, svc] of Object.entries(stack.services)) {
    const id = containerIds.get(name)!;
    const info = await docker.getContainer(id).inspect();
    const hostPort = (containerPort: number, protocol: "tcp" | "udp" = "tcp") => hostPortOf(info, containerPort, protocol, name);
    services[name] = {
      name,
      image: svc.image,
      containerId: id,
      containerName: names.container(name),
      hostPort,
      url: (containerPort, path = "") => `http://127.0.0.1:${hostPort(containerPort)}${path}`,
    };
  }

  let downed: Promise<RemovedResources> | undefined;
  const down = () => (downed ??= removeLabelled(docker, stackFilter));
  const started_: StartedStack = {
    name: stack.name,
    project,
    session,
    network: names.network,
    volumes: stack.volumes.map(names.volume),
    services,
    ...(reaped ? { reaped } : {}),
    startSeconds: p.startSeconds,
    down,
    stats: () => stackStats(docker, services),
    logs: (service, tail = 100) => {
      const s = services[service];
      if (!s) return Promise.reject(new Error(`stack ${stack.name}: no service '${service}'`));
      return containerLogs(docker, s.containerId, tail);
    },
    howTo: () => [
      ...Object.values(services).flatMap((s) =>
        stack.services[s.name]!.ports.map((p) => `${s.name}: http://127.0.0.1:${s.hostPort(p.containerPort, p.protocol)} (container port ${p.containerPort})`),
      ),
      `remove: docker rm -f -v $(docker ps -aq --filter label=${LABEL.project}=${project}); docker network rm ${names.network}; docker volume rm $(docker volume ls -q --filter label=${LABEL.project}=${project})`,
    ],
    [Symbol.asyncDispose]: async () => {
      if (!opts.keep) await down();
    },
  };
  return started_;
}

function hostPortOf(info: Docker.ContainerInspectInfo, containerPort: number, protocol: "tcp" | "udp", service = "?"): number {
  const b = info.NetworkSettings?.Ports?.[`${containerPort}/${protocol}`];
  const hit = b?.find((x) => x.HostIp === "127.0.0.1") ?? b?.[0];
  const port = Number(hit?.HostPort);
  if (!hit || !Number.isInteger(port) || port <= 0) throw new Error(`service ${service}: container port ${containerPort}/${protocol} is not published`);
  return port;
}

/** One-shot stats of the stack's containers (the engine samples for about a second). */
export async function stackStats(docker: Docker, services: Record<string, StartedService>): Promise<ContainerStatsSample[]> {
  const samples = await Promise.all(
    Object.values(services).map(async (s): Promise<ContainerStatsSample | undefined> => {
      try {
        const st = (await docker.getContainer(s.containerId).stats({ stream: false })) as Docker.ContainerStats;
        return statsSample(s.name, s.containerName, st);
      } catch {
        return undefined; // stopped or gone
      }
    }),
  );
  return samples.filter((x): x is ContainerStatsSample => !!x);
}

/** Figures from one engine stats object, computed as `docker stats` does. */
export function statsSample(service: string, container: string, st: Docker.ContainerStats): ContainerStatsSample {
  const mem = st.memory_stats ?? ({} as Docker.MemoryStats);
  const ms = (mem.stats ?? {}) as Record<string, number | undefined>;
  const cache = ms.total_inactive_file ?? ms.inactive_file ?? ms.cache ?? 0;
  const usage = Math.max(0, (mem.usage ?? 0) - (cache < (mem.usage ?? 0) ? cache : 0));
  const cpu = st.cpu_stats;
  const pre = st.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const online = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = sysDelta > 0 && cpuDelta >= 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const out: ContainerStatsSample = {
    service,
    container,
    memoryBytes: usage,
    memoryLimitBytes: mem.limit ?? 0,
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    read: st.read,
  };
  if (st.pids_stats?.current !== undefined) out.pids = st.pids_stats.current;
  return out;
}
