/**
 * Errors the user can act on. Thrown anywhere; turned into a one-line message and an exit code
 * in one place (src/main.ts). The stack is printed only with E2E_DEBUG=1.
 */
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

/** One line for the terminal: "message (fix: hint)". */
export function formatError(err: unknown): string {
  if (err instanceof E2EError) return err.hint ? `${err.message} (fix: ${err.hint})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function exitCodeOf(err: unknown): number {
  return err instanceof E2EError ? err.exitCode : 1;
}
