/**
 * One backend for the length of a run, shared by the workflow runner (run/execute.ts) and the
 * script runner (script/execute.ts): its work folder, its start with everything the plan gave
 * it (mode, URL, --api-key-file, port), the notice of its server's death, the recording of an
 * error into its result, and its stop, as an AsyncDisposable:
 *
 *   await using s = new BackendSession(ctx, planned);
 *   await s.guard(async () => { const be = await s.start(); ... });
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { descriptorOf } from "../backends/registry.ts";
import type { StartedBackend } from "../backends/types.ts";
import type { Plan } from "../plan/plan.ts";
import type { BackendReady } from "../report/reporter.ts";
import type { PythonEnv } from "../runtime/python/env.ts";
import { E2EError, backendError, exitCodeOf, formatError } from "../util/errors.ts";
import type { BackendResult } from "./result.ts";

export type PlannedBackend = Plan["backends"][number];

/** What every backend of one run shares. */
export interface SessionContext {
  python: PythonEnv;
  assetRoot: string;
  workRoot: string;
  /** The run's id (experiment names, container labels). */
  session: string;
  /** --port: the native MLflow server's port. */
  port?: number;
  /** --timeout (ms): the deadline of each workflow process, or of the user's script. */
  timeoutMs?: number;
  log?: (msg: string) => void;
  onReady?: (ready: BackendReady) => void | Promise<void>;
}

export class BackendSession implements AsyncDisposable {
  readonly result: BackendResult;
  /** This backend's own work folder. */
  readonly workDir: string;
  started?: StartedBackend;
  private deadReason?: string;

  constructor(readonly ctx: SessionContext, readonly planned: PlannedBackend) {
    this.result = { backend: planned.name, mode: planned.mode, url: planned.url, status: "passed", workflows: [] };
    this.workDir = join(ctx.workRoot, planned.name);
  }

  get name() {
    return this.planned.name;
  }

  /** Start (or connect to) the backend; a failure is thrown, for guard() to record. */
  async start(): Promise<StartedBackend> {
    const b = this.planned;
    await mkdir(this.workDir, { recursive: true });
    const t0 = Date.now();
    const driver = await descriptorOf(b.name).load();
    this.ctx.log?.(`${b.name}: starting (${b.mode})`);
    const s = await driver.start({
      python: this.ctx.python,
      workDir: this.workDir,
      session: this.ctx.session,
      mode: b.mode,
      url: b.url,
      credentialsFile: b.credentialsFile,
      port: this.ctx.port,
      assetRoot: this.ctx.assetRoot,
    });
    this.started = s;
    this.result.startMs = Date.now() - t0;
    this.result.url = s.url;
    this.result.serverVersion = s.serverVersion;
    void s.died?.then((why) => (this.deadReason = why));
    await this.ctx.onReady?.({ backend: b.name, mode: b.mode, url: s.url, serverVersion: s.serverVersion });
    return s;
  }

  /** Throws when the server this run started has died since (the work before stays in the result). */
  assertAlive(): void {
    if (this.deadReason) throw backendError(`${this.name} stopped part way: ${this.deadReason}`, "see the server log; the workflows before this point are in the result");
  }

  /** Run `fn`; an error it throws becomes this backend's error (with the exit code its kind has). */
  async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err: unknown): void {
    this.result.status = "error";
    this.result.error = {
      message: formatError(err),
      // A usage (2) or environment (3) error inside a driver keeps its kind: runVerdict() reads it.
      exitCode: exitCodeOf(err),
      ...(err instanceof E2EError ? { hint: err.hint, detail: err.detail } : {}),
    };
    this.ctx.log?.(`${this.name}: ${formatError(err)}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const s = this.started;
    this.started = undefined;
    if (!s) return;
    if (s.httpRetries) this.result.httpRetries = s.httpRetries();
    await s.stop().catch((err) => this.ctx.log?.(`${this.name}: stopping failed: ${formatError(err)}`));
  }
}

/** Several sessions disposed together (the script runner starts every chosen backend at once). */
export class BackendSessions implements AsyncDisposable {
  readonly all: BackendSession[];
  constructor(ctx: SessionContext, planned: readonly PlannedBackend[]) {
    this.all = planned.map((p) => new BackendSession(ctx, p));
  }
  get results(): BackendResult[] {
    return this.all.map((s) => s.result);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.all.map((s) => s[Symbol.asyncDispose]()));
  }
}
