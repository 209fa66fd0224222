/**
 * The harness ceiling: a loopback HTTP server that reads each request body and discards it,
 * answering `{}`. It runs in its own process (`e2e bench --sink`) so that, like MLflow, it does
 * not share the load generator's event loop.
 */
import { join } from "node:path";
import { spawnManaged } from "../runtime/process.ts";
import { backendError } from "../util/errors.ts";

/** Serve until a signal arrives or the parent is gone; prints `E2E_SINK <port>` once listening. */
export function serveSink(): void {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "GET" && req.method !== "HEAD") await req.arrayBuffer();
      return new Response("{}", { headers: { "content-type": "application/json" } });
    },
  });
  process.stdout.write(`E2E_SINK ${server.port}\n`);
  const stop = () => {
    server.stop(true);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Orphaned (the parent was killed with no chance to clean up): go too.
  const parent = Number(process.env.E2E_PARENT_PID || process.ppid);
  setInterval(() => process.ppid !== parent && stop(), 1000);
}

export interface Sink {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The argv that runs this program again: the compiled executable, or bun with src/main.ts. */
export function selfArgv(): string[] {
  const compiled = Bun.isStandaloneExecutable ?? import.meta.url.includes("$bunfs");
  return compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, "..", "main.ts")];
}

export async function startSink(): Promise<Sink> {
  let resolvePort!: (port: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  const proc = spawnManaged([...selfArgv(), "bench", "--sink"], {
    name: "loopback sink",
    onStdoutLine: (line) => {
      const m = /^E2E_SINK (\d+)$/.exec(line.trim());
      if (m) resolvePort(Number(m[1]));
    },
  });
  const timeout = Bun.sleep(15_000).then(() => -1);
  const p = await Promise.race([port, proc.exited.then(() => -1), timeout]);
  if (p < 0) {
    await proc.stop();
    throw backendError("the loopback sink did not start", "run with E2E_DEBUG=1 to see why");
  }
  return { url: `http://127.0.0.1:${p}`, pid: proc.pid, stop: async () => void (await proc.stop(2000)) };
}
