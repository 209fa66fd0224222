/**
 * Errors the user can act on. Thrown anywhere; turned into a one-line message and an exit code
 * in one place (src/main.ts). The stack is printed only with E2E_DEBUG=1.
 */
import { constants as osConstants } from "node:os";

export const ExitCode = {
  ok: 0,
  /** Every step ran, but at least one check failed. */
  checksFailed: 1,
  /** Bad arguments or input files. */
  usage: 2,
  /** Something the environment lacks: Python, torch, Docker, disk. */
  environment: 3,
  /** The stack under test failed to start or answer. */
  backend: 4,
  /** Ctrl-C or SIGTERM. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** 128 + the signal's number, as shells report a process ended by it: SIGINT 130, SIGTERM 143, SIGHUP 129. */
export function signalExitCode(signal: string): number {
  const n = (osConstants.signals as Record<string, number | undefined>)[signal];
  return n ? 128 + n : ExitCode.interrupted;
}

/**
 * README's exit-code table for a command that ran to its end, in one function: interrupted 130;
 * an error of bad input (2) or of the environment (3) first; then any failed check 1; then an
 * error of the stack under test 4; else 0. `errors` holds each recorded error's exit code.
 */
export function verdictExitCode(o: { signal?: string; failed?: boolean; errors?: number[] }): number {
  if (o.signal) return signalExitCode(o.signal);
  const errors = o.errors ?? [];
  const input = errors.filter((c) => c === ExitCode.usage || c === ExitCode.environment);
  if (input.length) return Math.min(...input);
  if (o.failed) return ExitCode.checksFailed;
  return errors.length ? ExitCode.backend : ExitCode.ok;
}

export class E2EError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: ExitCodeValue = ExitCode.usage,
    /** Extra text shown under the message (a server log tail, pip's output). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = "E2EError";
  }
}

export const usageError = (message: string, hint?: string) => new E2EError(message, hint, ExitCode.usage);
export const envError = (message: string, hint?: string, detail?: string) =>
  new E2EError(message, hint, ExitCode.environment, detail);
export const backendError = (message: string, hint?: string, detail?: string) =>
  new E2EError(message, hint, ExitCode.backend, detail);

export class InterruptedError extends E2EError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, undefined, ExitCode.interrupted);
  }
}

/** File-system errors the user can fix, said as such (no stack trace, the path and the fix). */
export function fromSystemError(err: unknown): E2EError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e !== "object" || typeof e.code !== "string") return undefined;
  const where = e.path ? ` at ${e.path}` : "";
  switch (e.code) {
    case "ENOSPC":
      return new E2EError(`no space left on the device${where}`, "free some space, or point E2E_TMPDIR / E2E_CACHE_DIR at a larger disk", ExitCode.environment);
    case "EROFS":
    case "EACCES":
    case "EPERM":
      return new E2EError(`cannot write${where} (${e.code})`, "make it writable, or point E2E_CACHE_DIR / E2E_TMPDIR at a writable folder", ExitCode.environment);
    case "EDQUOT":
      return new E2EError(`disk quota exceeded${where}`, "free some space or raise the quota", ExitCode.environment);
    default:
      return undefined;
  }
}

/** One line for the terminal: "message (fix: hint)". */
export function formatError(err: unknown): string {
  const sys = err instanceof E2EError ? undefined : fromSystemError(err);
  if (sys) return formatError(sys);
  if (err instanceof E2EError) return err.hint ? `${err.message} (fix: ${err.hint})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof E2EError) return err.exitCode;
  return fromSystemError(err)?.exitCode ?? 1;
}
