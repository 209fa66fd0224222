/**
 * MLflow by URL against a REAL `mlflow server` (native, 127.0.0.1): the deployment checks pass on
 * it; its real Host-header check rejects a foreign Host (directly, and through a proxy that
 * forwards a public name) and e2e names --allowed-hosts. The 413 and the 401 come from a
 * PROXY TEST DOUBLE (tests/doubles/proxy-double.ts) in front of the real server, as nginx's
 * client_max_body_size and auth_basic would: MLflow itself has no body limit on artifact uploads
 * and no auth in this setup. The bearer token of --api-key-file is demanded by the same double
 * (an OAuth2 proxy or API gateway), so a request of e2e or of the SDK without it fails.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNativeMlflow, type NativeMlflow } from "../../src/backends/mlflow/native.ts";
import { mlflowDriver } from "../../src/backends/mlflow/driver.ts";
import { probePython } from "../../src/runtime/python/probe.ts";
import type { PythonEnv } from "../../src/runtime/python/env.ts";
import { HOST_HEADER_MESSAGE } from "../../src/backends/deployment/http.ts";
import { E2EError } from "../../src/util/errors.ts";
import { freePort } from "../../src/util/port.ts";
import { runE2E, setupPython } from "../helpers.ts";
import { startProxyDouble } from "../doubles/proxy-double.ts";

let work = "";
let server: NativeMlflow;
let python: PythonEnv;
const ctx = (url: string, credentialsFile?: string) => ({ python, workDir: work, session: "t", mode: "url" as const, url, assetRoot: work, credentialsFile });
/** Credentials from this machine's environment would win over the file: none in these tests. */
const NO_ENV_CREDENTIALS = { MLFLOW_TRACKING_TOKEN: "", MLFLOW_TRACKING_USERNAME: "", MLFLOW_TRACKING_PASSWORD: "", E2E_MLFLOW_CREDENTIALS_FILE: "" };

beforeAll(async () => {
  const py = setupPython();
  const info = await probePython(py);
  if ("error" in info) throw new Error(info.error);
  python = { python: py, kind: "venv", info };
  work = await mkdtemp(join(tmpdir(), "e2e-mlflow-deploy-"));
  server = await startNativeMlflow({ python: py, workDir: work });
}, 1_200_000);
afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

test("deployment checks on a real MLflow server: https (loopback), Host, versions, artifact round trip, 10 MB upload", async () => {
  const started = await mlflowDriver.start(ctx(server.url));
  const checks = (await started.lifecycle!()).filter((c) => c.group === "deployment");
  expect(checks.map((c) => `${c.name}:${c.status}`).sort()).toEqual([
    "deployment.artifact-round-trip:pass", "deployment.host-header:pass", "deployment.https:pass", "deployment.large-request:pass", "deployment.versions:pass",
  ]);
  expect(checks.find((c) => c.name === "deployment.versions")!.message).toContain("3.17.2");
}, 120_000);

test("the real server's Host-header check: a foreign Host is rejected, and e2e names --allowed-hosts", async () => {
  // /health and /version are exempt from the check: a REST call is not.
  expect((await fetch(`${server.url}/version`, { headers: { Host: "mlflow.example.com" } })).status).toBe(200);
  const direct = await fetch(`${server.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default`, { headers: { Host: "mlflow.example.com" } });
  expect([400, 403]).toContain(direct.status);
  expect(await direct.text()).toContain(HOST_HEADER_MESSAGE);

  // A proxy forwarding the public name (nginx: proxy_set_header Host mlflow.example.com).
  const proxy = startProxyDouble({ target: server.url, host: "mlflow.example.com" });
  try {
    const err = await mlflowDriver.start(ctx(proxy.url)).catch((e) => e);
    expect(err).toBeInstanceOf(E2EError);
    expect(err.message).toContain(HOST_HEADER_MESSAGE);
    expect(err.hint).toContain("--allowed-hosts");
    expect(err.hint).toContain("MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE");
    expect(err.exitCode).toBe(4);
  } finally {
    proxy.stop();
  }
}, 60_000);

test("a proxy (test double) with a 1 MB body limit: the large request fails with the body-limit fix, small bytes still round-trip", async () => {
  const proxy = startProxyDouble({ target: server.url, bodyLimit: 1_048_576 });
  try {
    const started = await mlflowDriver.start(ctx(proxy.url));
    const checks = (await started.lifecycle!()).filter((c) => c.group === "deployment");
    const large = checks.find((c) => c.name === "deployment.large-request")!;
    expect(large.status).toBe("fail");
    expect(large.message).toContain("HTTP 413");
    expect(large.message).toContain("client_max_body_size");
    expect(checks.find((c) => c.name === "deployment.artifact-round-trip")!.status).toBe("pass");
  } finally {
    proxy.stop();
  }
}, 120_000);

test("wrong credentials at a proxy (test double, auth_basic) and a URL that does not answer: errors naming the fix", async () => {
  const proxy = startProxyDouble({ target: server.url, basicAuth: { user: "alice", password: "right-password" } });
  const saved = { u: process.env.MLFLOW_TRACKING_USERNAME, p: process.env.MLFLOW_TRACKING_PASSWORD };
  try {
    process.env.MLFLOW_TRACKING_USERNAME = "alice";
    process.env.MLFLOW_TRACKING_PASSWORD = "wrong-password";
    const err = await mlflowDriver.start(ctx(proxy.url)).catch((e) => e);
    expect(err.message).toContain("rejected the credentials (HTTP 401)");
    expect(err.hint).toContain("MLFLOW_TRACKING_PASSWORD");
    process.env.MLFLOW_TRACKING_PASSWORD = "right-password";
    const ok = await mlflowDriver.start(ctx(proxy.url));
    expect(ok.serverVersion).toBe("3.17.2");
  } finally {
    proxy.stop();
    if (saved.u === undefined) delete process.env.MLFLOW_TRACKING_USERNAME;
    else process.env.MLFLOW_TRACKING_USERNAME = saved.u;
    if (saved.p === undefined) delete process.env.MLFLOW_TRACKING_PASSWORD;
    else process.env.MLFLOW_TRACKING_PASSWORD = saved.p;
  }
  const gone = await mlflowDriver.start(ctx(`http://127.0.0.1:${await freePort()}`)).catch((e) => e);
  expect(gone.message).toContain("does not answer");
  expect(gone.hint).toContain("check the URL");
}, 60_000);

test("--api-key-file with a token, behind a proxy (test double) that demands it: e2e's reader sends it, a missing or wrong one is named", async () => {
  const token = `tok-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const proxy = startProxyDouble({ target: server.url, bearer: token });
  const saved = Object.fromEntries(Object.keys(NO_ENV_CREDENTIALS).map((k) => [k, process.env[k]]));
  for (const k of Object.keys(NO_ENV_CREDENTIALS)) delete process.env[k];
  try {
    const none = await mlflowDriver.start(ctx(proxy.url)).catch((e) => e);
    expect(none.message).toContain("rejected the credentials (HTTP 401)");
    expect(none.hint).toContain("--api-key-file");
    await writeFile(join(work, "wrong-token"), "not-the-token\n");
    expect((await mlflowDriver.start(ctx(proxy.url, join(work, "wrong-token"))).catch((e) => e)).message).toContain("HTTP 401");
    await writeFile(join(work, "token"), `${token}\n`);
    const ok = await mlflowDriver.start(ctx(proxy.url, join(work, "token")));
    expect(ok.serverVersion).toBe("3.17.2");
    expect(ok.workflowEnv()).toEqual({ MLFLOW_TRACKING_URI: proxy.url, MLFLOW_TRACKING_TOKEN: token });
    const checks = (await ok.lifecycle!()).filter((c) => c.group === "deployment");
    expect(checks.find((c) => c.name === "deployment.artifact-round-trip")!.status).toBe("pass");
  } finally {
    proxy.stop();
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}, 120_000);

test("e2e run --url --api-key-file: the SDK in the workflow and e2e's reader both send the token (a proxy double rejects any request without it); it is in no output, report or work file", async () => {
  const token = `tok-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const proxy = startProxyDouble({ target: server.url, bearer: token });
  const tmp = join(work, "run-with-token");
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, "token"), `MLFLOW_TRACKING_TOKEN=${token}\n`);
  try {
    const report = join(tmp, "report.json");
    const r = await runE2E(["run", "--backend", "mlflow", "--url", proxy.url, "--api-key-file", join(tmp, "token"), "--json", "--report", report, "--keep-work"], {
      env: { ...NO_ENV_CREDENTIALS, E2E_TMPDIR: tmp },
      timeoutMs: 900_000,
    });
    expect({ code: r.code, stderr: r.code ? r.stderr.slice(-3000) : "" }).toEqual({ code: 0, stderr: "" });
    expect(proxy.requests.filter((q) => !q.authorized)).toEqual([]);
    const agents = new Set(proxy.requests.map((q) => q.userAgent.split("/")[0]));
    expect(agents).toContain("mlflow-python-client"); // the SDK in the workflow process
    expect(agents).toContain("Bun"); // e2e's REST reader
    // Where the token must not be: stdout, stderr, the report, any file of the kept work folder.
    expect(r.stdout.includes(token) || r.stderr.includes(token)).toBe(false);
    expect(await readFile(report, "utf8")).not.toContain(token);
    const leaks: string[] = [];
    for (const f of await readdir(tmp, { recursive: true, withFileTypes: true }))
      if (f.isFile() && f.name !== "token" && (await readFile(join(f.parentPath, f.name))).includes(token)) leaks.push(join(f.parentPath, f.name));
    expect(leaks).toEqual([]);
  } finally {
    proxy.stop();
  }
}, 900_000);
