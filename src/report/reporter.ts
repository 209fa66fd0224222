/**
 * Reporters, in the mould of Playwright's: an output is an object with optional hooks, fed the
 * command's result document as it grows; a multiplexer (Reporters) fans every event out to each
 * reporter and isolates a failing one.
 *
 * A reporter that throws (a --junit path that cannot be written, a full disk) is a reporter
 * error: it is said once on stderr and recorded in `failures`, and it never becomes a backend's
 * error nor changes the verdict or the exit code (README: "Reports"). The other reporters go on.
 *
 * `R` is the command's result document (RunResult for `e2e run`, BenchResult for `e2e bench`);
 * every hook receives the current document, so a reporter needs no state of its own to write it.
 */
import { formatError } from "../util/errors.ts";
import { log, scrub } from "../util/log.ts";

/** A backend (or bench target) that has started and answers. */
export interface BackendReady {
  backend: string;
  mode: string;
  url?: string;
  serverVersion?: string;
}

type Hook<A extends unknown[]> = ((...args: A) => void | Promise<void>) | undefined;

export interface Reporter<R> {
  /** Names the output in messages: "junit /path/x.xml", "json stdout". */
  name: string;
  /** It writes to stdout: with --json only the JSON reporter may. */
  printsToStdout?: boolean;
  /** Once, when the plan is known and nothing has started. */
  begin?(result: R): void | Promise<void>;
  /** A backend (bench: a target) is up. */
  backendReady?(ready: BackendReady, result: R): void | Promise<void>;
  /** Progress inside a long step (a workflow's training steps). */
  step?(what: string, step: number, total: number): void;
  /** After every workflow (bench: every stage), and when a backend ends: the document so far. */
  workflowEnd?(result: R): void | Promise<void>;
  /** Once, with the final document (status and exit code set). Also on Ctrl-C, with what was measured. */
  end?(result: R): void | Promise<void>;
}

export interface ReporterFailure {
  reporter: string;
  hook: string;
  message: string;
}

/** Fans events out to every reporter; one that throws is recorded and the others go on. */
export class Reporters<R> {
  readonly failures: ReporterFailure[] = [];

  constructor(readonly list: Reporter<R>[], private readonly warn: (line: string) => void = (l) => log.warn(l)) {}

  begin(result: R) {
    return this.each("begin", (r) => r.begin, [result]);
  }
  backendReady(ready: BackendReady, result: R) {
    return this.each("backendReady", (r) => r.backendReady, [ready, result]);
  }
  step(what: string, step: number, total: number): void {
    for (const r of this.list) {
      try {
        r.step?.(what, step, total);
      } catch (err) {
        this.fail(r, "step", err);
      }
    }
  }
  workflowEnd(result: R) {
    return this.each("workflowEnd", (r) => r.workflowEnd, [result]);
  }
  /** Files first, then stdout: the document printed on stdout can name the files that failed. */
  async end(result: R) {
    await this.each("end", (r) => r.end, [result], (r) => !r.printsToStdout);
    await this.each("end", (r) => r.end, [result], (r) => !!r.printsToStdout);
  }

  private async each<A extends unknown[]>(hook: string, pick: (r: Reporter<R>) => Hook<A>, args: A, only: (r: Reporter<R>) => boolean = () => true): Promise<void> {
    // In parallel: one slow writer does not hold up the others; each one's failure is its own.
    await Promise.all(
      this.list.filter(only).map(async (r) => {
        const fn = pick(r);
        if (!fn) return;
        try {
          await fn.apply(r, args);
        } catch (err) {
          this.fail(r, hook, err);
        }
      }),
    );
  }

  private fail(r: Reporter<R>, hook: string, err: unknown): void {
    const message = scrub(formatError(err));
    // Said once per reporter and message: a --junit path that cannot be written fails every time.
    if (this.failures.some((f) => f.reporter === r.name && f.message === message)) return;
    this.failures.push({ reporter: r.name, hook, message });
    this.warn(`report ${r.name} failed (${hook}): ${message}; the verdict is unchanged`);
  }
}
