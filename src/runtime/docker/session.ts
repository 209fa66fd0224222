/**
 * A session: one e2e process's claim on the resources it creates. Every container, network and
 * volume carries the session's labels, so `down` and the reaper find them by label alone.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

export const LABEL = {
  session: "e2e.session",
  stack: "e2e.stack",
  project: "e2e.project",
  service: "e2e.service",
  pid: "e2e.pid",
  pidStart: "e2e.pidstart",
  host: "e2e.host",
  /** "true" on a stack started with --keep: the reaper leaves it alone. */
  keep: "e2e.keep",
} as const;

export interface Session {
  id: string;
  pid: number;
  host: string;
  /** The owner's start time (clock ticks since boot, /proc/PID/stat field 22) against pid reuse. */
  pidStart?: string;
}

/** Start time of a process (Linux: /proc/PID/stat field 22), or undefined where unknown. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[22 - 3];
  } catch {
    return undefined;
  }
}

export function newSession(id: string = crypto.randomUUID()): Session {
  const s: Session = { id, pid: process.pid, host: hostname() };
  const start = processStartTime(process.pid);
  if (start) s.pidStart = start;
  return s;
}

export function sessionLabels(s: Session): Record<string, string> {
  const l: Record<string, string> = { [LABEL.session]: s.id, [LABEL.pid]: String(s.pid), [LABEL.host]: s.host };
  if (s.pidStart) l[LABEL.pidStart] = s.pidStart;
  return l;
}

/**
 * Whether the owner of a labelled resource still runs: "dead" when its pid is gone (or reused by
 * a later process), "alive" when it runs, "unknown" when it ran on another host or lacks labels.
 */
export function ownerState(labels: Record<string, string> | undefined, thisHost: string = hostname()): "alive" | "dead" | "unknown" {
  const pid = Number(labels?.[LABEL.pid]);
  if (!labels || !Number.isInteger(pid) || pid <= 0) return "unknown";
  if (labels[LABEL.host] !== thisHost) return "unknown";
  try {
    process.kill(pid, 0);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ESRCH") return "dead";
    if (code !== "EPERM") return "unknown";
  }
  const recorded = labels[LABEL.pidStart];
  if (recorded) {
    const now = processStartTime(pid);
    if (now && now !== recorded) return "dead"; // the pid was reused
  }
  return "alive";
}
