/**
 * Child processes that cannot outlive us: each runs in its own process group (so the whole tree
 * -- uvicorn workers, torchrun ranks -- is signalled together), asks the kernel to kill it if
 * we die (PR_SET_PDEATHSIG through a tiny Python exec shim, when a Python is at hand), and is
 * registered for teardown.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
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
      killGroup(child.pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      // Members of the group that ignored SIGTERM (or were orphaned by it) go now.
      killGroup(child.pid, "SIGKILL");
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

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

const signalNumber: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
