/**
 * Bring an embedded (or --assets) compose stack up for one e2e run, with teardown registered
 * before start-up begins: Ctrl-C during start aborts the wait and removes what was created.
 */
import { join } from "node:path";
import { onInterrupt, onTeardown } from "../lifecycle.ts";
import { E2EError, ExitCode } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { findEngine, EngineNotFoundError, type Engine } from "./engine.ts";
import { loadComposeFile } from "./embedded.ts";
import { newSession } from "./session.ts";
import { up, type StartedStack } from "./stack.ts";

export interface DockerStackRun {
  stack: StartedStack;
  engine: Engine;
  stop(): Promise<void>;
}

export async function engineOrThrow(): Promise<Engine> {
  try {
    return await findEngine();
  } catch (err) {
    if (err instanceof EngineNotFoundError) throw new E2EError(err.message, undefined, ExitCode.environment);
    throw err;
  }
}

export async function startStack(assetRoot: string, name: string, opts: { keep?: boolean; timeoutMs?: number } = {}): Promise<DockerStackRun> {
  const engine = await engineOrThrow();
  const def = await loadComposeFile(join(assetRoot, "assets", "compose", `${name}.yml`)).catch((err: Error) => {
    throw new E2EError(err.message, "fix the compose file or its E2E_* variables", ExitCode.usage);
  });
  const session = newSession();
  const ac = new AbortController();
  const offInterrupt = onInterrupt((s) => ac.abort(new Error(`interrupted by ${s}`)));
  const pending = up(engine, def, {
    session,
    keep: opts.keep,
    signal: ac.signal,
    timeoutMs: opts.timeoutMs,
    onProgress: (m) => log.info(`${name} stack: ${m}`),
    missingImagesHint: "build local stand-ins with assets/docker/build-images.sh (see `e2e assets extract`) and set E2E_MLFLOW_IMAGE/E2E_POSTGRES_IMAGE, or `e2e images load FILE`",
  });
  // Registered before the stack exists, so an interrupt mid-start still waits for up() to
  // clean up after itself (it does on abort) or downs what came up.
  const unregister = opts.keep
    ? () => {}
    : onTeardown(`${name} stack`, async () => {
        ac.abort(new Error("cleanup"));
        const s = await pending.catch(() => undefined);
        await s?.down();
      });
  let stack: StartedStack;
  try {
    stack = await pending;
  } catch (err) {
    unregister();
    offInterrupt();
    const e = err as Error & { logs?: string };
    throw new E2EError(`${name} stack did not start: ${e.message.split("\n")[0]}`, "see the container log below; `e2e down` removes leftovers", ExitCode.backend, e.logs);
  }
  offInterrupt();
  return {
    stack,
    engine,
    stop: async () => {
      unregister();
      if (!opts.keep) await stack.down();
    },
  };
}
