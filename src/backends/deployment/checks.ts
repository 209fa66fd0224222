/**
 * Deployment checks for a server reached by URL, in the spirit of `wandb verify`, for all three
 * backends: transport (plain http warned), client/server versions, a large request through the
 * user's proxy (413 -> raise its body limit), and bytes up and down through whatever store the
 * server points at. Each is a Check in group "deployment"; a warning is a skip whose message
 * starts with "WARNING".
 */
import { randomBytes, createHash } from "node:crypto";
import { check, fail, pass, skip, type Check } from "../../verify/check.ts";
import { formatError } from "../../util/errors.ts";
import { httpFailure, isPlainHttpOffLoopback, PROXY_BODY_HINT } from "./http.ts";
import { compareVersions, parseVersion } from "./sdk.ts";

export const GROUP = "deployment";
/** Size of the large request: as `wandb verify` (10^7 characters). */
export const LARGE_BYTES = 10_000_000;

export function transportCheck(url: string): Check {
  const u = new URL(url);
  if (u.protocol === "https:") return pass(GROUP, "https", `https to ${u.host}`);
  if (!isPlainHttpOffLoopback(url)) return pass(GROUP, "https", `plain http, but only on loopback (${u.host})`);
  return skip(GROUP, "https",
    `WARNING: plain http to ${u.host}: API keys, tokens and logged data cross the network unencrypted (fix: put TLS in front of the server and use an https:// URL)`);
}

/** Client (SDK) vs server version by a rule of the backend; a warning is a skip. */
export function versionCheck(name: string, client: string | undefined, server: string | undefined, rule: (c: string, s: string) => { ok: boolean; warn?: string; message: string }): Check {
  if (!client || !server || !parseVersion(client).length || !parseVersion(server).length)
    return skip(GROUP, "versions", `${name}: cannot compare versions (client ${client ?? "unknown"}, server ${server ?? "unknown"})`);
  const r = rule(client, server);
  if (r.warn) return skip(GROUP, "versions", `WARNING: ${r.warn}`);
  return check(GROUP, "versions", r.ok, r.message, { client }, { server });
}

/** Same major release; a client newer than the server may call what the server lacks. */
export function sameMajorRule(sdk: string) {
  return (c: string, s: string) => {
    const [cm, cn] = parseVersion(c), [sm, sn] = parseVersion(s);
    if (cm !== sm) return { ok: false, message: `${sdk} ${c} and server ${s} are different major releases (fix: pip install "${sdk}==${s}" in the training environment, or upgrade the server)` };
    if ((cn ?? 0) > (sn ?? 0)) return { ok: true, warn: `${sdk} ${c} is newer than the server ${s}: newer client calls may fail (fix: upgrade the server, or pin ${sdk}==${s})`, message: "" };
    return { ok: true, message: `${sdk} ${c} with server ${s}` };
  };
}

/** Send `bytes` through the user's proxy with `send`; a 413 names the proxy setting to raise. */
export async function largeRequestCheck(what: string, bytes: number, send: () => Promise<unknown>, accept?: (err: unknown) => boolean): Promise<Check> {
  const mb = (bytes / 1e6).toFixed(0);
  try {
    await send();
    return pass(GROUP, "large-request", `${what}: a ${mb} MB request went through`);
  } catch (err) {
    if (accept?.(err)) return pass(GROUP, "large-request", `${what}: a ${mb} MB request reached the server`);
    const f = httpFailure(err);
    const status = f.status ?? (err as { status?: number }).status;
    if (status === 413 || /\b413\b/.test(formatError(err)))
      return fail(GROUP, "large-request", `${what}: a ${mb} MB request was refused with HTTP 413 (Request Entity Too Large) by a proxy in front of the server (fix: ${PROXY_BODY_HINT})`, "accepted", 413);
    return fail(GROUP, "large-request", `${what}: a ${mb} MB request failed: ${formatError(err)}`, "accepted", status ?? f.cause);
  }
}

/** Upload random bytes, read them back, compare sha256; `cleanup` always runs. */
export async function roundTripCheck(
  name: string, what: string, bytes: number,
  up: (data: Uint8Array) => Promise<void>, down: () => Promise<Uint8Array>, cleanup?: () => Promise<void>,
): Promise<Check> {
  const data = new Uint8Array(randomBytes(bytes));
  const want = createHash("sha256").update(data).digest("hex");
  try {
    await up(data);
    const got = await down();
    const have = createHash("sha256").update(got).digest("hex");
    return check(GROUP, name, have === want && got.length === data.length,
      have === want ? `${what}: ${bytes} bytes up and back, sha256 matches` : `${what}: bytes read back differ (${got.length} of ${bytes} bytes, sha256 ${have.slice(0, 12)}…)`,
      { size: bytes, sha256: want }, { size: got.length, sha256: have });
  } catch (err) {
    const status = httpFailure(err).status;
    const hint = status === 413 ? ` (fix: ${PROXY_BODY_HINT})` : "";
    return fail(GROUP, name, `${what}: ${formatError(err)}${hint}`);
  } finally {
    await cleanup?.().catch(() => {});
  }
}

export const versionAtLeast = (v: string, min: string) => compareVersions(v, min) >= 0;
