/**
 * Removing labelled resources: everything of a session (or of one stack of it), and the reaper,
 * which removes what sessions whose owner process died left behind (the testcontainers idea;
 * the owner is known by the e2e.pid / e2e.host / e2e.pidstart labels).
 */
import type Docker from "dockerode";
import { LABEL, ownerState } from "./session.ts";

export interface RemovedResources {
  containers: string[];
  networks: string[];
  volumes: string[];
  /** Removals that failed, "kind name: reason"; empty when all went. */
  errors: string[];
}

const statusOf = (e: unknown) => (e && typeof e === "object" ? (e as { statusCode?: number }).statusCode : undefined);
const msgOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Remove every container (with its anonymous volumes), network and volume that carries all of
 * `labels` ("key=value" or "key"). Containers first, then networks, then volumes. Idempotent.
 */
export async function removeLabelled(docker: Docker, labels: string[]): Promise<RemovedResources> {
  const filters = JSON.stringify({ label: labels });
  const res: RemovedResources = { containers: [], networks: [], volumes: [], errors: [] };

  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map(async (c) => {
      const name = c.Names?.[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true });
        res.containers.push(name);
      } catch (e) {
        if (statusOf(e) === 404) res.containers.push(name);
        else if (statusOf(e) === 409 && /already in progress/i.test(msgOf(e))) res.containers.push(name);
        else res.errors.push(`container ${name}: ${msgOf(e)}`);
      }
    }),
  );

  const networks = await docker.listNetworks({ filters });
  for (const n of networks) {
    try {
      await docker.getNetwork(n.Id).remove();
      res.networks.push(n.Name);
    } catch (e) {
      if (statusOf(e) === 404) res.networks.push(n.Name);
      else res.errors.push(`network ${n.Name}: ${msgOf(e)}`);
    }
  }

  const { Volumes: volumes } = await docker.listVolumes({ filters });
  for (const v of volumes ?? []) {
    // A volume can stay "in use" for a moment after its container is removed.
    for (let attempt = 0; ; attempt++) {
      try {
        await docker.getVolume(v.Name).remove();
        res.volumes.push(v.Name);
        break;
      } catch (e) {
        if (statusOf(e) === 404) {
          res.volumes.push(v.Name);
          break;
        }
        if (statusOf(e) === 409 && attempt < 10) {
          await sleep(300);
          continue;
        }
        res.errors.push(`volume ${v.Name}: ${msgOf(e)}`);
        break;
      }
    }
  }
  return res;
}

/** Everything of one session (all its stacks). */
export function removeSession(docker: Docker, sessionId: string): Promise<RemovedResources> {
  return removeLabelled(docker, [`${LABEL.session}=${sessionId}`]);
}

export interface SessionInfo {
  id: string;
  stacks: string[];
  owner: "alive" | "dead" | "unknown";
  pid?: number;
  host?: string;
  kept: boolean;
  containers: number;
  networks: number;
  volumes: number;
}

/** Every session that has resources on the engine, with its owner's state. */
export async function listSessions(docker: Docker): Promise<SessionInfo[]> {
  const filters = JSON.stringify({ label: [LABEL.session] });
  const [containers, networks, vols] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const byId = new Map<string, SessionInfo>();
  const add = (labels: Record<string, string> | undefined | null, kind: "containers" | "networks" | "volumes") => {
    const id = labels?.[LABEL.session];
    if (!id || !labels) return;
    let s = byId.get(id);
    if (!s) {
      const pid = Number(labels[LABEL.pid]);
      s = { id, stacks: [], owner: ownerState(labels), kept: false, containers: 0, networks: 0, volumes: 0 };
      if (Number.isInteger(pid) && pid > 0) s.pid = pid;
      if (labels[LABEL.host]) s.host = labels[LABEL.host];
      byId.set(id, s);
    }
    const stack = labels[LABEL.stack];
    if (stack && !s.stacks.includes(stack)) s.stacks.push(stack);
    if (labels[LABEL.keep] === "true") s.kept = true;
    s[kind]++;
  };
  for (const c of containers) add(c.Labels, "containers");
  for (const n of networks) add(n.Labels, "networks");
  for (const v of vols.Volumes ?? []) add(v.Labels as Record<string, string> | null, "volumes");
  return [...byId.values()];
}

export interface ReapOptions {
  /**
   * true (default): remove only sessions whose owner process is dead on this host.
   * false: remove every session but `except` (like `e2e down --all`), owners alive or not.
   */
  olderSessionsOnly?: boolean;
  /** A session never reaped (the caller's own). */
  except?: string;
  /** Also remove stacks left on purpose with --keep (default false). */
  includeKept?: boolean;
}

export interface ReapReport extends RemovedResources {
  sessions: string[];
}

/** The reaper. Sessions whose owner is alive or unknown (another host) are left alone by default. */
export async function reap(docker: Docker, opts: ReapOptions = {}): Promise<ReapReport> {
  const olderOnly = opts.olderSessionsOnly ?? true;
  const report: ReapReport = { sessions: [], containers: [], networks: [], volumes: [], errors: [] };
  for (const s of await listSessions(docker)) {
    if (s.id === opts.except) continue;
    if (s.kept && !opts.includeKept) continue;
    if (olderOnly && s.owner !== "dead") continue;
    const r = await removeSession(docker, s.id);
    report.sessions.push(s.id);
    report.containers.push(...r.containers);
    report.networks.push(...r.networks);
    report.volumes.push(...r.volumes);
    report.errors.push(...r.errors);
  }
  return report;
}
