/**
 * MLflow by URL: deployment checks. Bytes go through the server's artifact proxy
 * (mlflow-artifacts), i.e. through whatever store `--artifacts-destination` points at, in a
 * throwaway experiment that is deleted afterwards; the large request is a 10 MB artifact, the
 * kind of body a proxy's limit (nginx's default is 1 MB) refuses first.
 */
import type { Check } from "../../verify/check.ts";
import { fail, pass, skip } from "../../verify/check.ts";
import { formatError } from "../../util/errors.ts";
import type { MlflowClient } from "../mlflow/client.ts";
import { GROUP, LARGE_BYTES, largeRequestCheck, roundTripCheck, sameMajorRule, transportCheck, versionCheck } from "./checks.ts";

export async function mlflowDeployment(client: MlflowClient, url: string, sdkVersion: string | undefined, serverVersion: string, opts: { largeBytes?: number } = {}): Promise<Check[]> {
  const checks: Check[] = [transportCheck(url)];
  checks.push(pass(GROUP, "host-header", `the server accepts the Host header ${new URL(url).host}`));
  checks.push(versionCheck("MLflow", sdkVersion, serverVersion, sameMajorRule("mlflow")));
  let expId: string | undefined;
  try {
    expId = await client.createExperiment(`e2e-deployment-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
    const runId = await client.createRun(expId, "e2e-deployment");
    const uri = (await client.getRun(runId)).info.artifact_uri;
    if (!/^mlflow-artifacts:/.test(uri)) {
      const why = `runs store artifacts at ${uri}, which clients write directly (the server does not proxy them): e2e cannot reach that store without its credentials`;
      checks.push(skip(GROUP, "artifact-round-trip", why), skip(GROUP, "large-request", why));
      return checks;
    }
    const del = (rel: string) => async () => void (await client.api(client.artifactUrl(uri, rel), { method: "DELETE", retry: 0 }).catch(() => {}));
    checks.push(await roundTripCheck("artifact-round-trip", "artifact through the server's proxy", 65_536,
      (d) => client.uploadArtifact(uri, "e2e-probe.bin", d),
      async () => new Uint8Array(await client.api(client.artifactUrl(uri, "e2e-probe.bin"), { responseType: "arrayBuffer" })),
      del("e2e-probe.bin")));
    const big = new Uint8Array(opts.largeBytes ?? LARGE_BYTES);
    checks.push(await largeRequestCheck("artifact upload", big.length, () => client.uploadArtifact(uri, "e2e-large.bin", big)));
    await del("e2e-large.bin")();
  } catch (err) {
    checks.push(fail(GROUP, "artifact-round-trip", `could not set up a throwaway run: ${formatError(err)}`));
  } finally {
    if (expId) await client.deleteExperiment(expId).catch(() => {});
  }
  return checks;
}
