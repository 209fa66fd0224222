/** Secrets, SDK versions, HTTP failure explanations and transport checks: pure units, no server. */
import { expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearmlKeys, mlflowCredentials, mlflowCredentialsEnv, wandbApiKey } from "./credentials.ts";
import { assertSdk, PINNED } from "./sdk.ts";
import { explainHttpFailure, HOST_HEADER_MESSAGE } from "./http.ts";
import { sameMajorRule, transportCheck, versionCheck } from "./checks.ts";
import { scrub } from "../../util/log.ts";
import { makePlan } from "../../plan/plan.ts";
import { clearmlHosts } from "../clearml/rest.ts";

test("keys come from env or a file (bare, .netrc, KEY=, clearml.conf, ACCESS:SECRET) and are masked at once", async () => {
  const dir = await mkdtemp(join(tmpdir(), "e2e-keys-"));
  try {
    expect(wandbApiKey(undefined, { WANDB_API_KEY: "envkey-123456" })).toBe("envkey-123456");
    await writeFile(join(dir, "k"), "filekey-abcdef\n");
    expect(wandbApiKey(join(dir, "k"), {})).toBe("filekey-abcdef");
    await writeFile(join(dir, "netrc"), "machine wandb.example.com\n  login user\n  password netrckey-999999\n");
    expect(wandbApiKey(undefined, { E2E_WANDB_API_KEY_FILE: join(dir, "netrc") })).toBe("netrckey-999999");
    expect(scrub("x netrckey-999999 y")).toBe("x *** y");
    await writeFile(join(dir, "clearml.conf"), 'api {\n credentials {"access_key": "AK12345678", "secret_key": "SK-abcdefgh"}\n}\n');
    expect(clearmlKeys(join(dir, "clearml.conf"), {})).toEqual({ accessKey: "AK12345678", secretKey: "SK-abcdefgh" });
    await writeFile(join(dir, "env"), "CLEARML_API_ACCESS_KEY=AK2\nCLEARML_API_SECRET_KEY=SK2-long-secret\n");
    expect(clearmlKeys(undefined, { E2E_CLEARML_CREDENTIALS_FILE: join(dir, "env") }).secretKey).toBe("SK2-long-secret");
    await writeFile(join(dir, "pair"), "AK3:SK3-long-secret\n");
    expect(clearmlKeys(join(dir, "pair"), {})).toEqual({ accessKey: "AK3", secretKey: "SK3-long-secret" });
    expect(scrub("SK3-long-secret")).toBe("***");
    expect(() => wandbApiKey(undefined, {})).toThrow(/no W&B API key/);
    expect(() => clearmlKeys(join(dir, "missing"), {})).toThrow(/cannot read the ClearML credentials file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("MLflow: a token or user/password from env or a file (bare, KEY=, basic lines), masked at once; none is fine, an empty file is not", async () => {
  const dir = await mkdtemp(join(tmpdir(), "e2e-mlflow-keys-"));
  try {
    expect(mlflowCredentials(undefined, {})).toEqual({});
    await writeFile(join(dir, "bare"), "tok-abc.def_ghi==\n");
    expect(mlflowCredentials(join(dir, "bare"), {})).toEqual({ token: "tok-abc.def_ghi==" });
    expect(scrub("Authorization: Bearer tok-abc.def_ghi==")).toBe("Authorization: Bearer ***");
    await writeFile(join(dir, "env"), "# from the vault\nexport MLFLOW_TRACKING_TOKEN=\"tok-from-line\"\n");
    expect(mlflowCredentials(undefined, { E2E_MLFLOW_CREDENTIALS_FILE: join(dir, "env") })).toEqual({ token: "tok-from-line" });
    await writeFile(join(dir, "basic"), "MLFLOW_TRACKING_USERNAME=alice\nMLFLOW_TRACKING_PASSWORD=pw-secret-123\n");
    const basic = mlflowCredentials(join(dir, "basic"), {});
    expect(basic).toEqual({ basic: { user: "alice", password: "pw-secret-123" } });
    expect(mlflowCredentialsEnv(basic)).toEqual({ MLFLOW_TRACKING_USERNAME: "alice", MLFLOW_TRACKING_PASSWORD: "pw-secret-123" });
    expect(scrub("pw-secret-123")).toBe("***");
    // The environment wins over the file, as the SDK itself would read it.
    expect(mlflowCredentials(join(dir, "bare"), { MLFLOW_TRACKING_TOKEN: "tok-env-000" })).toEqual({ token: "tok-env-000" });
    expect(mlflowCredentialsEnv({ token: "tok-env-000" })).toEqual({ MLFLOW_TRACKING_TOKEN: "tok-env-000" });
    await writeFile(join(dir, "empty"), "\n");
    expect(() => mlflowCredentials(join(dir, "empty"), {})).toThrow(/holds no token/);
    await writeFile(join(dir, "other"), "SOMETHING_ELSE=1\n");
    expect(() => mlflowCredentials(join(dir, "other"), {})).toThrow(/holds no token/);
    expect(() => mlflowCredentials(join(dir, "missing"), {})).toThrow(/cannot read the MLflow credentials file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("--api-key-file is a path in the plan, only with --url; never the secret", () => {
  const plan = makePlan({ backend: "wandb", url: "https://wandb.example.com", apiKeyFile: "/run/secrets/wandb" });
  expect(plan.backends).toEqual([{ name: "wandb", mode: "url", url: "https://wandb.example.com", credentialsFile: "/run/secrets/wandb" }]);
  expect(() => makePlan({ backend: "wandb", apiKeyFile: "/x" })).toThrow(/--api-key-file goes with --url/);
});

test("pinned SDK versions equal python/requirements.txt; missing or unsupported SDKs are errors naming the fix", async () => {
  const reqs = await readFile(join(import.meta.dir, "../../../python/requirements.txt"), "utf8");
  for (const [name, v] of Object.entries(PINNED)) expect(reqs).toContain(`${name}==${v}`);
  const py = (v: string | null) => ({ python: "/p/python", info: { executable: "/p/python", python: "3.11", packages: { clearml: v }, missing: [] } });
  expect(assertSdk("clearml", py("2.1.12"))).toBe("2.1.12");
  expect(() => assertSdk("clearml", py(null))).toThrow(/not importable/);
  expect(() => assertSdk("clearml", py("1.3.0"))).toThrow(/not supported/);
  expect(() => assertSdk("clearml", py("3.0.0"))).toThrow(/not supported/);
});

test("HTTP failures explained: no answer, 401, 413, MLflow's Host rejection", () => {
  const ctx = { backend: "MLflow", url: "https://mlflow.example.com", credentialsHint: "set MLFLOW_TRACKING_TOKEN" };
  expect(explainHttpFailure({ message: "fetch failed", cause: { code: "ECONNREFUSED" } }, ctx).message).toContain("does not answer: ECONNREFUSED");
  expect(explainHttpFailure({ status: 403, data: "forbidden" }, ctx).hint).toBe("set MLFLOW_TRACKING_TOKEN");
  expect(explainHttpFailure({ status: 413, data: "<html>413</html>" }, ctx).hint).toContain("client_max_body_size");
  const host = explainHttpFailure({ status: 400, data: HOST_HEADER_MESSAGE }, ctx);
  expect(host.hint).toContain("--allowed-hosts naming the host clients use, e.g. 'mlflow.example.com'");
});

test("plain http off loopback is warned (a skip starting WARNING); versions by major release", () => {
  expect(transportCheck("https://x.example.com").status).toBe("pass");
  expect(transportCheck("http://127.0.0.1:5000").status).toBe("pass");
  const warn = transportCheck("http://mlflow.example.com");
  expect(warn.status).toBe("skip");
  expect(warn.message).toMatch(/^WARNING: plain http/);
  expect(versionCheck("MLflow", "3.17.2", "2.20.0", sameMajorRule("mlflow")).status).toBe("fail");
  expect(versionCheck("MLflow", "3.17.2", "3.10.0", sameMajorRule("mlflow")).message).toMatch(/^WARNING: mlflow 3.17.2 is newer/);
  expect(versionCheck("MLflow", "3.17.2", "3.17.2", sameMajorRule("mlflow")).status).toBe("pass");
});

test("ClearML web and files hosts follow the API URL as the SDK guesses them", () => {
  expect(clearmlHosts("http://10.0.0.5:8008", {})).toEqual({ api: "http://10.0.0.5:8008", web: "http://10.0.0.5:8080", files: "http://10.0.0.5:8081" });
  expect(clearmlHosts("https://api.clearml.example.com/", {})).toEqual({ api: "https://api.clearml.example.com", web: "https://app.clearml.example.com", files: "https://files.clearml.example.com" });
  expect(clearmlHosts("https://api.c.example.com", { CLEARML_FILES_HOST: "https://store.example.com/" }).files).toBe("https://store.example.com");
});
