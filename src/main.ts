#!/usr/bin/env bun
/**
 * e2e: prove an experiment-tracking stack works end to end for PyTorch, and measure it.
 * The root command: lazy subcommands, and the one place where errors become exit codes.
 */
import { defineCommand, runCommand, showUsage } from "citty";
import { VERSION } from "./version.ts";
import { E2EError, ExitCode, exitCodeOf, formatError } from "./util/errors.ts";
import { installSignalHandlers, runTeardowns } from "./runtime/lifecycle.ts";
import { scrub } from "./util/log.ts";

export const main = defineCommand({
  meta: { name: "e2e", version: VERSION, description: "End-to-end tests and benchmarks of MLflow, W&B and ClearML for PyTorch" },
  subCommands: {
    run: () => import("./cli/run.ts").then((m) => m.default),
    doctor: () => import("./cli/doctor.ts").then((m) => m.default),
    setup: () => import("./cli/setup.ts").then((m) => m.default),
    assets: () => import("./cli/assets.ts").then((m) => m.default),
    up: () => import("./cli/up.ts").then((m) => m.default),
    down: () => import("./cli/down.ts").then((m) => m.default),
    bench: () => import("./cli/bench.ts").then((m) => m.default),
    bundle: () => import("./cli/bundle.ts").then((m) => m.default),
    images: () => import("./cli/images.ts").then((m) => m.default),
  },
});

export async function cli(rawArgs: string[]): Promise<number> {
  installSignalHandlers();
  try {
    if (rawArgs.length === 0 || rawArgs.includes("--help") || rawArgs.includes("-h")) {
      const sub = rawArgs.find((a) => !a.startsWith("-"));
      await showUsageFor(sub ? rawArgs.filter((a) => !a.startsWith("-")) : []);
      return rawArgs.length === 0 ? ExitCode.usage : ExitCode.ok;
    }
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const { result } = await runCommand(main, { rawArgs });
    return typeof result === "number" ? result : 0;
  } catch (err) {
    const code = isCittyUsage(err) ? ExitCode.usage : exitCodeOf(err);
    // One line on stderr, colour codes stripped: scripts grep it, people read it.
    const msg = isCittyUsage(err) ? `${(err as Error).message} (fix: see e2e --help)` : formatError(err);
    process.stderr.write(`e2e: error: ${scrub(msg).replace(/\x1b\[[0-9;]*m/g, "")}\n`);
    if (err instanceof E2EError && err.detail) process.stderr.write(`${scrub(err.detail)}\n`);
    if (process.env.E2E_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return code;
  } finally {
    await runTeardowns();
  }
}

async function showUsageFor(path: string[]): Promise<void> {
  let cmd: any = main;
  let parent: any = undefined;
  for (const name of path) {
    const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : cmd.subCommands;
    const next = subs?.[name];
    if (!next) break;
    parent = cmd;
    cmd = typeof next === "function" ? await next() : await next;
  }
  // citty prints usage with console.log; help is asked for, so stdout is right.
  await showUsage(cmd, parent);
}

function isCittyUsage(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code?.startsWith("E_") === true;
}

if (import.meta.main) {
  const code = await cli(process.argv.slice(2));
  process.exit(code);
}
