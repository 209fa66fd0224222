/** Shared by the integration tests: the compiled binary (or the source when not built), run as a user would. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll } from "bun:test";
import { driverFor } from "../src/backends/registry.ts";
import type { StartedBackend } from "../src/backends/types.ts";
import { startNativeMlflow, type NativeMlflow } from "../src/backends/mlflow/native.ts";
import { useInterpreter } from "../src/runtime/python/env.ts";
import { verifyScriptRun } from "../src/script/execute.ts";
import { runScript, type ScriptRun } from "../src/script/run.ts";
import { parseScript } from "../src/script/spec.ts";
import type { BackendName } from "../src/verify/manifest.ts";
import type { WorkflowResult } from "../src/run/result.ts";

export const repoRoot = join(import.meta.dir, "..");
export const binary = join(repoRoot, "dist", "e2e");

/** argv prefix that runs e2e: the compiled executable when built, else bun on the source. */
export function e2eCommand(): string[] {
  if (existsSync(binary) && !process.env.E2E_TEST_FROM_SOURCE) return [binary];
  return [process.execPath, join(repoRoot, "src", "main.ts")];
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export function runE2E(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const [cmd, ...pre] = e2eCommand();
  return new Promise((resolve) => {
    const child = spawn(cmd!, [...pre, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Command lines of live processes matching a pattern (for leftover checks). */
export function processesMatching(pattern: string): string[] {
  const r = spawnSync("pgrep", ["-af", pattern], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.trim() && !l.includes("pgrep"));
}

/** The Python that `e2e setup` made (tests share it with the user's cache). */
export function setupPython(): string {
  const r = spawnSync(e2eCommand()[0]!, [...e2eCommand().slice(1), "setup", "--json"], { encoding: "utf8", cwd: repoRoot, timeout: 1_200_000 });
  if (r.status !== 0) throw new Error(`e2e setup failed: ${r.stderr.slice(-2000)}`);
  return (JSON.parse(r.stdout) as { python: string }).python;
}

/** Live processes whose environment has `key=value` (leftover checks of one run among others). */
export function processesWithEnv(key: string, value: string): string[] {
  const fs = require("node:fs");
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((n: string) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${key}=${value}`))
        out.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ")}`);
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

/** Live processes whose working folder or command line is under `dir` (leftover checks). */
export function processesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const pid of require("node:fs").readdirSync("/proc").filter((n: string) => /^\d+$/.test(n))) {
    try {
      const fs = require("node:fs");
      const cwd: string = fs.readlinkSync(`/proc/${pid}/cwd`);
      const cmd: string = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cwd.startsWith(dir) || cmd.includes(dir)) out.push(`${pid} ${cmd}`);
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

/** One user script run as `e2e run --script` runs it, and its verdict. */
export interface ScriptCase {
  run: ScriptRun;
  result: WorkflowResult;
  be: StartedBackend;
  backendDir: string;
}

/**
 * The script tests' setup: the Python `e2e setup` made, a temp root, and one real MLflow server
 * for the test file (its store in `serverDir()`: mlflow.db, mlartifacts/), started before and
 * stopped after the file's tests (it registers its own beforeAll/afterAll). `run` writes a
 * script into a fresh project folder, runs it with the recorder against the backend (MLflow by
 * URL to that server; W&B and ClearML offline) and verifies it.
 */
export function scriptFixture(prefix: string) {
  let python = "";
  let root = "";
  let server: NativeMlflow | undefined;
  let n = 0;
  const serverDir = () => join(root, "mlflow-server");
  beforeAll(async () => {
    python = setupPython();
    root = mkdtempSync(join(tmpdir(), prefix));
    mkdirSync(serverDir());
    server = await startNativeMlflow({ python, workDir: serverDir() });
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);
  return {
    root: () => root,
    serverDir,
    /** A fresh folder under the root, numbered with the cases. */
    folder: (name: string) => join(root, `${name}-${++n}`),
    async run(backend: BackendName, source: string, opts: { command?: string; args?: string[]; timeoutMs?: number } = {}): Promise<ScriptCase> {
      const dir = join(root, `case-${++n}`);
      const proj = join(dir, "project");
      const backendDir = join(dir, backend);
      mkdirSync(proj, { recursive: true });
      mkdirSync(backendDir, { recursive: true });
      writeFileSync(join(proj, "train.py"), source);
      const be = await (await driverFor(backend)).start({
        python: await useInterpreter(python), workDir: backendDir, session: "test", assetRoot: repoRoot,
        mode: backend === "mlflow" ? "url" : "offline", url: backend === "mlflow" ? server!.url : undefined,
      });
      const spec = parseScript(opts.command ?? "train.py", opts.args ?? [], proj);
      const run = await runScript({ spec, python, assetRoot: repoRoot, workDir: join(dir, "work"), env: be.workflowEnv(), timeoutMs: opts.timeoutMs ?? 300_000 });
      const result = await verifyScriptRun(be, run, backendDir);
      await be.stop(); // MLflow by URL and the offline modes hold nothing: verifying again still works
      return { run, result, be, backendDir };
    },
  };
}
