/**
 * Peak resident memory of a process tree, read from /proc: the sum of VmRSS over every process
 * in the leader's process group (uvicorn workers, wandb-core), polled, and the largest VmHWM of
 * any one of them (the kernel's own high-water mark, exact but per process).
 */
import { readdirSync, readFileSync } from "node:fs";

function status(pid: number): Record<string, string> | undefined {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
      const i = line.indexOf(":");
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return out;
  } catch {
    return undefined;
  }
}

const kb = (v: string | undefined) => (v ? Number.parseInt(v, 10) * 1024 : 0);

/** Processes whose process group is `pgid` (spawnManaged makes each child a group leader). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface TreeMemory {
  /** Highest sum of VmRSS over the group seen while polling. */
  peakRssBytes: number;
  /** Largest VmHWM of one member at the last poll. */
  maxHwmBytes: number;
  polls: number;
}

export interface MemoryPoller {
  snapshot(): TreeMemory;
  stop(): TreeMemory;
}

export function pollGroupMemory(pgid: number, intervalMs = 200): MemoryPoller {
  const m: TreeMemory = { peakRssBytes: 0, maxHwmBytes: 0, polls: 0 };
  const poll = () => {
    let sum = 0;
    for (const pid of groupMembers(pgid)) {
      const s = status(pid);
      if (!s) continue;
      sum += kb(s.VmRSS);
      m.maxHwmBytes = Math.max(m.maxHwmBytes, kb(s.VmHWM));
    }
    if (sum > 0) m.polls++;
    m.peakRssBytes = Math.max(m.peakRssBytes, sum);
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    snapshot: () => (poll(), { ...m }),
    stop: () => {
      clearInterval(timer);
      poll();
      return { ...m };
    },
  };
}
