/**
 * ClearML by URL: deployment checks. debug.ping (no auth) and auth.login were made when the
 * backend started; here: transport, server version and API level against the SDK (server.info,
 * the login token's api_version), bytes up and back through the fileserver the SDK uploads
 * artifacts to (multipart POST, as the SDK's _HttpDriver), and a 10 MB upload through the proxy.
 */
import type { Check } from "../../verify/check.ts";
import { check, fail } from "../../verify/check.ts";
import { formatError } from "../../util/errors.ts";
import type { ClearmlRest } from "../clearml/rest.ts";
import { GROUP, LARGE_BYTES, largeRequestCheck, roundTripCheck, transportCheck, versionCheck } from "./checks.ts";
import { compareVersions } from "./sdk.ts";

/** events.scalar_metrics_iter_raw (the exact scalar read) exists from API 2.16. */
export const MIN_API = "2.16";

export async function clearmlDeployment(rest: ClearmlRest, sdkVersion: string | undefined, opts: { largeBytes?: number } = {}): Promise<Check[]> {
  const checks: Check[] = [transportCheck(rest.hosts.api)];
  if (rest.hosts.files !== rest.hosts.api) {
    const t = transportCheck(rest.hosts.files);
    checks.push({ ...t, name: `${GROUP}.https-files`, message: `fileserver: ${t.message}` });
  }
  try {
    const info = await rest.serverInfo();
    const api = info.api_version ?? rest.apiVersion;
    const server = info.version ?? rest.serverVersion;
    checks.push(check(GROUP, "api-level", !!api && compareVersions(api, MIN_API) >= 0,
      api ? `server API level ${api}${compareVersions(api, MIN_API) >= 0 ? "" : ` is below ${MIN_API}, which exact scalar reads need (fix: upgrade the ClearML server)`}` : "server states no API level",
      `>= ${MIN_API}`, api));
    checks.push(versionCheck("ClearML", sdkVersion, server, (c, s) => {
      // clearml 1.x/2.x SDKs talk to any server with API >= 2.9 (their lowest schema); older
      // servers than 1.0 lack what current SDKs send.
      const ok = compareVersions(s, "1.0.0") >= 0;
      return { ok, message: ok ? `clearml ${c} with server ${s}` : `server ${s} is older than 1.0, which clearml ${c} needs (fix: upgrade the server)` };
    }));
  } catch (err) {
    checks.push(fail(GROUP, "versions", `server.info failed: ${formatError(err)}`));
  }
  const folder = `e2e-deployment/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let uri = "";
  checks.push(await roundTripCheck("artifact-round-trip", `file through the fileserver ${rest.hosts.files}`, 65_536,
    async (d) => void (uri = await rest.upload(folder, "e2e-probe.bin", d)),
    async () => (await rest.download(uri)).bytes,
    async () => rest.deleteFile(uri)));
  const big = new Uint8Array(opts.largeBytes ?? LARGE_BYTES);
  checks.push(await largeRequestCheck("fileserver upload", big.length, async () => {
    const u = await rest.upload(folder, "e2e-large.bin", big);
    await rest.deleteFile(u);
  }));
  return checks;
}
