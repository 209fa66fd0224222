#!/usr/bin/env bun
/**
 * e2e: prove an experiment-tracking stack works end to end for PyTorch, and measure it.
 * The root command: lazy subcommands, and the one place where errors become exit codes.
 */
import { defineCommand, renderUsage, runCommand } from "citty";
import { COMMANDS } from "./cli/meta.ts";
import { colorOn, stripColor } from "./util/color.ts";
import { VERSION } from "./version.ts";
import { E2EError, ExitCode, exitCodeOf, formatError } from "./util/errors.ts";
import { installSignalHandlers, runTeardowns } from "./runtime/lifecycle.ts";
import { scrub } from "./util/log.ts";
import { BACKENDS } from "./backends/registry.ts";
import { sayList } from "./util/words.ts";
import { stdoutDrained, writeStdout } from "./util/output.ts";

export const main = defineCommand({
  meta: { name: "e2e", version: VERSION, description: `End-to-end tests and benchmarks of ${sayList(BACKENDS.map((b) => b.title))} for PyTorch` },
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
    // Arguments after "--" belong to the user's script (e2e run --script x.py -- --help).
    const own = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;
    if (rawArgs.length === 0 || own.includes("--help") || own.includes("-h")) {
      const sub = own.find((a) => !a.startsWith("-"));
      await showUsageFor(sub ? own.filter((a) => !a.startsWith("-")) : []);
      return rawArgs.length === 0 ? ExitCode.usage : ExitCode.ok;
    }
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      process.stdout.write(`${VERSION}\n`);
      return ExitCode.ok;
    }
    // citty drops a subcommand's return value, so resolve the leaf command here and run it
    // directly: its returned number is the exit code.
    const { cmd, rest } = await resolveCommand(rawArgs);
    const { result } = await runCommand(cmd, { rawArgs: rest });
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

async function subCommandsOf(cmd: any): Promise<Record<string, any> | undefined> {
  return typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
}

/** Walk the command tree along the leading words of argv. */
async function resolveCommand(rawArgs: string[]): Promise<{ cmd: any; rest: string[] }> {
  let cmd: any = main;
  let rest = rawArgs;
  for (;;) {
    const subs = await subCommandsOf(cmd);
    if (!subs || !Object.keys(subs).length) return { cmd, rest };
    const name = rest[0];
    if (!name || name.startsWith("-")) {
      if (cmd.run) return { cmd, rest };
      throw new E2EError(`${cmd === main ? "no command given" : "no subcommand given"}`, `one of: ${Object.keys(subs).join(", ")}`, ExitCode.usage);
    }
    const next = subs[name];
    if (!next) throw new E2EError(`unknown command '${name}'`, `one of: ${Object.keys(subs).join(", ")} (see e2e --help)`, ExitCode.usage);
    cmd = typeof next === "function" ? await next() : await next;
    rest = rest.slice(1);
  }
}

async function showUsageFor(path: string[]): Promise<void> {
  // The root's list needs only names and descriptions: no command module is loaded for it.
  let cmd: any = path.length ? main : { ...main, subCommands: Object.fromEntries(Object.entries(COMMANDS).map(([k, meta]) => [k, { meta }])) };
  let parent: any = undefined;
  for (const name of path) {
    const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : cmd.subCommands;
    const next = subs?.[name];
    if (!next) break;
    parent = cmd;
    cmd = typeof next === "function" ? await next() : await next;
  }
  // Help is asked for, so stdout is right; colour only for a terminal (citty looks at env only).
  const text = await renderUsage(cmd, parent);
  writeStdout(`${colorOn(process.stdout) ? text : stripColor(text)}\n`);
}

function isCittyUsage(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code?.startsWith("E_") === true;
}

if (import.meta.main) {
  const code = await cli(process.argv.slice(2));
  await stdoutDrained(); // process.exit would drop what a slow pipe has not taken yet
  process.exit(code);
}
