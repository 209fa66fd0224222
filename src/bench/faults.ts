/**
 * A server's failed answer as the bench reports it and decides on it: the HTTP status, MLflow's
 * error_code and message (what the server log would say, which the bench removes with its work
 * folder), and whether retrying can help.
 *
 * Why a 400 can be transient: MLflow 3.17 (store/db/utils.py, make_managed_session) answers
 * TEMPORARILY_UNAVAILABLE (503) for a SQLAlchemy OperationalError but BAD_REQUEST (400) for any
 * other SQLAlchemyError, and logs nothing for it. On the native 1-worker SQLite server, 64
 * concurrent runs/create answered 20 times "BAD_REQUEST: QueuePool limit of size 5 overflow 10
 * reached, connection timed out, timeout 30.00": create_run holds one pooled connection and opens a
 * second (get_experiment) while anyio runs up to 40 requests at once, so 15 of them hold the whole
 * pool and wait for a second connection until the pool's 30 s timeout. The transaction is rolled
 * back, and the same request succeeds later. MLflow's own validation errors carry
 * INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST and the like, which are not retried.
 */
import { E2EError, formatError } from "../util/errors.ts";

export interface Fault {
  status?: number;
  /** MLflow's error_code, when the answer was MLflow's JSON. */
  code?: string;
  /** The server's message (cut to 300 characters) or the client's error. */
  detail: string;
}

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The status, error_code and message of an error from the load generator (HttpError) or ofetch. */
export function faultOf(err: unknown): Fault {
  const e = err as { status?: number; statusCode?: number; data?: unknown; message?: string };
  const status = e?.status ?? e?.statusCode;
  let data = e?.data;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      /* not JSON: an HTML page from a proxy, kept as text below */
    }
  }
  const d = data as { error_code?: unknown; message?: unknown } | undefined;
  const code = typeof d?.error_code === "string" ? d.error_code : undefined;
  const text = typeof d?.message === "string" ? d.message : typeof data === "string" ? data : (e?.message ?? String(err));
  return { ...(typeof status === "number" ? { status } : {}), ...(code ? { code } : {}), detail: text.replace(/\s+/g, " ").trim().slice(0, 300) };
}

/** "HTTP 400 BAD_REQUEST: QueuePool limit ..." (or the client's own error when no answer came). */
export function describeFault(err: unknown): string {
  const f = faultOf(err);
  if (f.status === undefined) return f.detail;
  return `HTTP ${f.status}${f.code ? ` ${f.code}` : ""}: ${f.detail}`;
}

/**
 * A stage's error for the report: e2e's own text, plus MLflow's error_code and message where the
 * client's error (ofetch: `[POST] "url": 400 Bad Request`) leaves them out.
 */
export function stageErrorMessage(err: unknown): string {
  const base = formatError(err);
  const f = faultOf(err);
  if (err instanceof E2EError || f.status === undefined || base.includes(f.detail)) return base;
  return `${base}: ${f.code ? `${f.code}: ` : ""}${f.detail}`;
}

/** Whether the same request may succeed when sent again: no answer at all, a server-side 5xx/429, or MLflow's BAD_REQUEST (a store error, see above). */
export function transient(err: unknown): boolean {
  if (err instanceof E2EError) return false; // e2e's own verdict or an interrupt, not the server's answer
  const f = faultOf(err);
  if (f.status === undefined) return noAnswer(err);
  return TRANSIENT_STATUS.has(f.status) || (f.status === 400 && f.code === "BAD_REQUEST");
}

/** A request that got no answer: refused or reset connection, a timeout, fetch's own failure. */
function noAnswer(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return e?.name === "FetchError" || e?.name === "TimeoutError" || err instanceof TypeError || /ECONN|EPIPE|socket|fetch failed|timed? ?out/i.test(`${e?.code ?? ""} ${e?.message ?? ""}`);
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  tries: number;
  /** Wait before the second attempt; doubled each time, up to maxMs, plus up to a quarter of jitter. */
  baseMs: number;
  maxMs: number;
}

/** Set-up requests of the bench: 4 attempts, waits of 0.5, 1 and 2 s (plus jitter) between them. */
export const SETUP_RETRY: RetryPolicy = { tries: 4, baseMs: 500, maxMs: 4000 };

/**
 * `send` until it succeeds, a failure is not transient, or the tries are spent (then the last
 * error is thrown). Before each retry `tookEffect` may look for what a failed attempt may have
 * created anyway (a 504 from a proxy after the server committed): what it returns is the result,
 * and nothing is sent again. `retried` hears of each retry, for the report.
 */
export async function retrying<T>(
  send: () => Promise<T>,
  opts: { policy?: RetryPolicy; tookEffect?: () => Promise<T | undefined>; retried?: (attempt: number, err: unknown) => void; sleep?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const p = opts.policy ?? SETUP_RETRY;
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms));
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (attempt >= p.tries || !transient(err)) throw err;
      opts.retried?.(attempt, err);
      const wait = Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1));
      await sleep(wait * (1 + Math.random() / 4));
      const found = await opts.tookEffect?.();
      if (found !== undefined) return found;
    }
  }
}
