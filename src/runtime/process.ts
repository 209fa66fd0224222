/**
 * Child processes that cannot outlive us: each runs in its own process group (so the whole tree
 * -- uvicorn workers, torchrun ranks -- is signalled together), asks the kernel to kill it if
 * we die (PR_SET_PDEATHSIG through a tiny Python exec shim, when a Python is at hand), and is
 * registered for teardown.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from "node:fs";
import { onTeardown } from "./lifecycle.ts";

export interface ManagedProcess {
  pid: number;
  /** Resolves with the exit code (128+n for a signal). */
  exited: Promise<number>;
  /** SIGTERM the group, then SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<number>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** All stdout and stderr lines are appended here. */
  logFile?: string;
  /** Called for each stdout line (progress protocol). */
  onStdoutLine?: (line: string) => void;
  /** A Python interpreter used to exec the command with PDEATHSIG set. */
  deathShim?: string;
  name: string;
}

const SHIM =
  "import ctypes,os,signal,sys\n" +
  "try: ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\nexcept Exception: pass\n" +
  "if os.getppid() != int(os.environ.pop('E2E_PARENT_PID', '0') or 0): sys.exit(143)\n" +
  "os.execvp(sys.argv[1], sys.argv[1:])";

export function spawnManaged(argv: string[], opts: SpawnOptions): ManagedProcess {
  const [cmd, ...args] = opts.deathShim ? [opts.deathShim, "-c", SHIM, ...argv] : argv;
  const env = { ...process.env, ...opts.env, E2E_PARENT_PID: String(process.pid) };
  const child: ChildProcess = spawn(cmd!, args, {
    cwd: opts.cwd,
    env: env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: WriteStream | undefined = opts.logFile ? createWriteStream(opts.logFile, { flags: "a" }) : undefined;
  let buf = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    log?.write(chunk);
    if (!opts.onStdoutLine) return;
    buf += chunk.toString("utf8");
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      opts.onStdoutLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => log?.write(chunk));

  const exited = new Promise<number>((resolve) => {
    child.on("error", (err) => {
      log?.write(`\n[e2e] could not start ${cmd}: ${err.message}\n`);
      resolve(127);
    });
    child.on("exit", (code, signal) => {
      const c = code ?? (signal ? 128 + (signalNumber[signal] ?? 15) : 1);
      if (log) log.end(() => resolve(c));
      else resolve(c);
    });
  });

  const stop = async (graceMs = 5000): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) {
      // Descendants that left the group (W&B's wandb-core calls setsid) are found now, while
      // they are still the tree's children, and stopped with it: else one outlives the leader
      // and writes into the work folder after it is removed.
      const strays = descendantsOutsideGroup(child.pid);
      killGroup(child.pid, "SIGTERM");
      for (const { pid } of strays) killPid(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      // Members of the group that ignored SIGTERM (or were orphaned by it) go now.
      killGroup(child.pid, "SIGKILL");
      await gone(strays, graceMs);
      return code;
    }
    killGroup(child.pid, "SIGKILL");
    return exited;
  };
  const unregister = onTeardown(opts.name, () => stop().then(() => undefined));
  void exited.then(() => {
    // The leader is gone; make sure no straggler of its group stays behind.
    killGroup(child.pid, "SIGKILL");
    unregister();
  });
  return { pid: child.pid ?? -1, exited, stop };
}

/** A live pid's start time (clock ticks since boot), so a reused pid is not taken for the process. */
const startOf = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return f[0] === "Z" || f[0] === "X" ? undefined : (f[19] ?? ""); // a zombie has ended
  } catch {
    return undefined;
  }
};

interface Stray {
  pid: number;
  start: string;
}

/** Live descendants of `root` (by parent pid, from /proc) that are not in its process group. */
export function descendantsOutsideGroup(root: number | undefined): Stray[] {
  if (!root || process.platform !== "linux") return [];
  const parentOf = new Map<number, { ppid: number; pgid: number; start: string }>();
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  for (const n of names) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(n), { ppid: Number(f[1]), pgid: Number(f[2]), start: f[19] ?? "" });
    } catch {
      /* gone */
    }
  }
  const out: Stray[] = [];
  const tree = new Set([root]);
  // Parents are seen before children only by chance: repeat until nothing is added.
  for (let added = true; added; ) {
    added = false;
    for (const [pid, p] of parentOf) {
      if (!tree.has(pid) && tree.has(p.ppid)) {
        tree.add(pid);
        added = true;
        if (p.pgid !== root) out.push({ pid, start: p.start });
      }
    }
  }
  return out;
}

/** Waits until none of `pids` is alive (SIGKILL for those left at the deadline). */
async function gone(strays: Stray[], ms: number): Promise<void> {
  const alive = () => strays.filter((s) => startOf(s.pid) === s.start).map((s) => s.pid);
  const end = Date.now() + ms;
  while (alive().length && Date.now() < end) await Bun.sleep(50);
  for (const pid of alive()) killPid(pid, "SIGKILL");
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

const signalNumber: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
