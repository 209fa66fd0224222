import type { Check } from "../verify/check.ts";
import type { Verification } from "../verify/verify-runs.ts";
import type { Census } from "../verify/census.ts";
export type { Verification };
import type { BackendName, Manifest } from "../verify/manifest.ts";
import type { WorkflowConfig } from "../runtime/python/workflow.ts";
import type { PythonEnv } from "../runtime/python/env.ts";

/** How a backend is reached: started natively, in containers, an existing server, or SDK offline mode. */
export type Mode = "native" | "docker" | "url" | "offline";

export interface BackendContext {
  python: PythonEnv;
  /** This backend's own work folder. */
  workDir: string;
  session: string;
  mode: Mode;
  url?: string;
  /** --api-key-file: where the server's credentials are read from when not in the env. */
  credentialsFile?: string;
  port?: number;
  assetRoot: string;
}

export interface StartedBackend {
  name: BackendName;
  mode: Mode;
  url?: string;
  serverVersion?: string;
  /** What a workflow's config.json gets from the backend (tracking URI, offline flag). */
  workflowConfig(): Partial<WorkflowConfig>;
  /** Environment for the workflow process (SDK settings; secrets only by env). */
  workflowEnv(): Record<string, string>;
  /** Read the backend independently and compare with the manifest. */
  verify(manifest: Manifest, workDir: string): Promise<Verification>;
  /** The runs a workflow created, listed in the backend (src/verify/census.ts), where it can. */
  census?: Census;
  /** Experiment lifecycle (create, find, delete, confirm gone), where the backend supports it. */
  lifecycle?(): Promise<Check[]>;
  stop(): Promise<void>;
  /** Resolves with a reason when the server this run started dies (native mode). */
  died?: Promise<string>;
  /** Reads the verifier retried (idempotent requests only), for the result. */
  httpRetries?(): number;
}

/** What a descriptor's load() gives: its modes and credentials are the descriptor's (descriptor.ts). */
export interface BackendDriver {
  name: BackendName;
  start(ctx: BackendContext): Promise<StartedBackend>;
}
