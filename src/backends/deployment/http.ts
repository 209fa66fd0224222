/**
 * Turning an HTTP failure of a server reached by URL into an error the user can act on:
 * not answering, credentials rejected (401/403), a proxy's body limit (413), MLflow 3's
 * Host-header check. Shared by the MLflow, W&B and ClearML clients and the deployment checks.
 */
import { backendError, E2EError } from "../../util/errors.ts";

export const PROXY_BODY_HINT =
  "raise the request body limit of the proxy in front of the server: nginx `client_max_body_size 0;` (or a size such as 10g), " +
  "ingress-nginx annotation `nginx.ingress.kubernetes.io/proxy-body-size: \"0\"`, Traefik `buffering.maxRequestBodyBytes`";

export const HOST_HEADER_MESSAGE = "Invalid Host header - possible DNS rebinding attack detected";

export function hostHeaderHint(host: string): string {
  return `MLflow 3 only answers Host headers it allows: start the server with --allowed-hosts naming the host clients use, e.g. '${host}' ` +
    "(behind a proxy: the Host it forwards; or MLFLOW_SERVER_ALLOWED_HOSTS=...), " +
    "or, behind a proxy you trust, with MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true";
}

/** What an ofetch/fetch failure says: status (undefined when nothing answered), body text, cause. */
export function httpFailure(err: unknown): { status?: number; body: string; cause: string } {
  const e = err as { status?: number; statusCode?: number; response?: { status?: number; _data?: unknown }; data?: unknown; cause?: unknown; message?: string };
  const status = e.status ?? e.statusCode ?? e.response?.status;
  const data = e.data ?? e.response?._data;
  const body = typeof data === "string" ? data : data === undefined ? "" : JSON.stringify(data);
  const c = e.cause as { code?: string; message?: string } | undefined;
  const cause = c?.code ?? c?.message ?? e.message ?? String(err);
  return { status: status || undefined, body, cause };
}

export const isHostHeaderRejection = (status: number | undefined, body: string) =>
  (status === 400 || status === 403) && body.includes("Invalid Host header");

export interface FailureContext {
  backend: string;
  url: string;
  /** How to fix rejected credentials for this backend. */
  credentialsHint: string;
  /** What was being done ("reading run abc"), for the message. */
  doing?: string;
}

/** An E2EError (exit code 4) naming the fix, for any failed request to a server by URL. */
export function explainHttpFailure(err: unknown, ctx: FailureContext): E2EError {
  if (err instanceof E2EError) return err;
  const { status, body, cause } = httpFailure(err);
  const at = `${ctx.backend} at ${ctx.url}`;
  const doing = ctx.doing ? `, during ${ctx.doing}` : "";
  if (status === undefined)
    return backendError(`${at} does not answer${doing}: ${cause}`,
      "check the URL (scheme, host, port), that the server runs, and that this machine can reach it (proxy, firewall, VPN)");
  if (isHostHeaderRejection(status, body)) return backendError(`${at} rejected the request's Host header${doing}: "${HOST_HEADER_MESSAGE}"`, hostHeaderHint(new URL(ctx.url).host));
  if (status === 401 || status === 403)
    return backendError(`${at} rejected the credentials (HTTP ${status})${doing}`, ctx.credentialsHint, preview(body));
  if (status === 413) return backendError(`${at}: a request was too large for the proxy in front of the server (HTTP 413)${doing}`, PROXY_BODY_HINT);
  if (status === 404) return backendError(`${at} answered 404${doing}: this URL does not serve the ${ctx.backend} API`, `check the URL: it must be the ${ctx.backend} server's base URL`, preview(body));
  return backendError(`${at} failed${doing}: HTTP ${status}`, "read the server's log", preview(body));
}

const preview = (s: string) => (s ? s.slice(0, 500) : undefined);

/** http on a host other than loopback sends credentials in clear. */
export function isPlainHttpOffLoopback(url: string): boolean {
  const u = new URL(url);
  if (u.protocol !== "http:") return false;
  return !["localhost", "127.0.0.1", "[::1]", "::1"].includes(u.hostname) && !u.hostname.startsWith("127.");
}
