/**
 * Running one embedded workflow: a throwaway git repository holding the workflow as train.py
 * (committed; optionally with an uncommitted change), a config.json, and the Python process with
 * progress read from its `@e2e {...}` lines, under a deadline.
 */
import { loadManifest } from "../../verify/manifest-load.ts";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { appendFile, copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackendName, Manifest } from "../../verify/manifest.ts";
import { envError } from "../../util/errors.ts";
import { writeFileAtomic } from "../../util/fs.ts";
import { spawnManaged } from "../process.ts";

export interface WorkflowConfig {
  backend: BackendName;
  workflow: string;
  tracking_uri: string | null;
  offline: boolean;
  experiment: string;
  run_name: string;
  manifest: string;
  work_dir: string;
  tensorboard_dir: string;
  sizes: Record<string, number>;
  seed: number;
  device: string;
  /** Backend-specific extras (a server URL for W&B/ClearML online). */
  [extra: string]: unknown;
}

export interface WorkflowRun {
  exitCode: number;
  timedOut: boolean;
  manifest?: Manifest;
  manifestError?: string;
  logFile: string;
  durationMs: number;
  /** Why the workflow was stopped early, when it was. */
  abandoned?: string;
  repo: string;
  /** The commit and branch the harness itself made: the truth the manifest's git facts must match. */
  git: { commit: string; branch: string; dirty: boolean };
}

export interface Progress {
  step: number;
  total: number;
  [k: string]: unknown;
}

/** Asynchronous: workflows are prepared while servers run, whose output the event loop reads. */
function git(cwd: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === "ENOENT") return reject(envError("git is not installed", "install git (apt-get install git)"));
      if (err) return reject(envError(`git ${args[0]} failed: ${(stderr || err.message).trim()}`, "check that git works in the work folder"));
      resolve(stdout.trim());
    }),
  );
}

/** A fresh repository with the workflow committed on branch `e2e-main`. */
export async function prepareRepo(dir: string, script: string, dirty: boolean): Promise<{ commit: string; branch: string }> {
  await mkdir(dir, { recursive: true });
  await git(dir, "init", "-q", "-b", "e2e-main");
  await git(dir, "config", "user.email", "e2e@localhost");
  await git(dir, "config", "user.name", "e2e");
  await git(dir, "config", "commit.gpgsign", "false");
  await copyFile(script, join(dir, "train.py"));
  await git(dir, "add", "train.py");
  await git(dir, "commit", "-q", "-m", "e2e workflow");
  if (dirty) await appendFile(join(dir, "train.py"), "\n# uncommitted change made by e2e to test dirty-state capture\n");
  return { commit: await git(dir, "rev-parse", "HEAD"), branch: "e2e-main" };
}

export interface RunWorkflowOptions {
  python: string;
  assetRoot: string;
  config: WorkflowConfig;
  env?: Record<string, string>;
  /** Deadline for each process. */
  timeoutMs: number;
  dirty?: boolean;
  onProgress?: (p: Progress) => void;
  launcher?: "python" | "torchrun";
  /** torchrun's --nproc-per-node (default 2). Extra torchrun flags come from E2E_TORCHRUN_ARGS. */
  nproc?: number;
  /** Processes run one after another with E2E_PHASE=1..phases, continuing one manifest. */
  phases?: number;
  /** Resolves with a reason when running on is pointless (the backend's server died). */
  abandon?: Promise<string>;
}

function launcherArgv(o: RunWorkflowOptions): string[] {
  if (o.launcher !== "torchrun") return [o.python, "train.py"];
  const extra = (process.env.E2E_TORCHRUN_ARGS ?? "").split(/\s+/).filter(Boolean);
  const rendezvous = extra.some((a) => a.startsWith("--rdzv") || a.startsWith("--nnodes") || a.startsWith("--master")) ? [] : ["--standalone"];
  return [o.python, "-m", "torch.distributed.run", ...rendezvous, "--nproc-per-node", String(o.nproc ?? 2), ...extra, "train.py"];
}

export async function runWorkflow(o: RunWorkflowOptions): Promise<WorkflowRun> {
  const work = o.config.work_dir;
  const script = join(o.assetRoot, "python", "workflows", `${o.config.workflow}.py`);
  if (!existsSync(script)) throw envError(`workflow file ${script} is missing`, "re-extract the assets or fix --assets");
  const repo = join(work, "repo");
  const git = { ...(await prepareRepo(repo, script, !!o.dirty)), dirty: !!o.dirty };
  const configPath = join(work, "config.json");
  await writeFileAtomic(configPath, JSON.stringify(o.config, null, 2));
  const logFile = join(work, "workflow.log");
  const started = Date.now();
  let exitCode = 0;
  let timedOut = false;
  let abandoned: string | undefined;
  let current: { stop(ms?: number): Promise<number> } | undefined;
  void o.abandon?.then((why) => {
    abandoned = why;
    void current?.stop(3000);
  });
  for (let phase = 1; phase <= (o.phases ?? 1) && exitCode === 0 && !abandoned; phase++) {
    const proc = spawnManaged(launcherArgv(o), {
      name: `workflow ${o.config.workflow} phase ${phase}`,
      cwd: repo,
      logFile,
      deathShim: o.python,
      env: {
        ...o.env,
        E2E_CONFIG: configPath,
        E2E_PHASE: String(phase),
        E2E_SPAWNED_AT_MS: String(Date.now()),
        PYTHONPATH: [join(o.assetRoot, "python"), process.env.PYTHONPATH].filter(Boolean).join(":"),
        PYTHONUNBUFFERED: "1",
        MPLBACKEND: "Agg",
      },
      onStdoutLine: (line) => {
        if (!line.startsWith("@e2e ")) return;
        try {
          const ev = JSON.parse(line.slice(5));
          if (ev.event === "progress") o.onProgress?.(ev);
        } catch {
          /* not ours */
        }
      },
    });
    current = proc;
    if (abandoned) void proc.stop(3000);
    const timer = setTimeout(() => {
      timedOut = true;
      void proc.stop(3000);
    }, o.timeoutMs);
    exitCode = await proc.exited;
    clearTimeout(timer);
  }
  const result: WorkflowRun = { exitCode, timedOut, abandoned, logFile, durationMs: Date.now() - started, repo, git };
  try {
    result.manifest = await loadManifest(o.config.manifest);
  } catch (err) {
    result.manifestError = existsSync(o.config.manifest) ? `manifest is unreadable: ${(err as Error).message}` : "the workflow wrote no manifest";
  }
  return result;
}

export async function logTail(file: string, lines = 20): Promise<string> {
  return (await readFile(file, "utf8").catch(() => "")).trimEnd().split("\n").slice(-lines).join("\n");
}
