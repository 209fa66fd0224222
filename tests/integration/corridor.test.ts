/**
 * One corridor through the binary: the backend descriptors decide which modes exist; a usage
 * error raised inside a driver exits 2; `--script` gets the same backend session as the
 * workflows, so --timeout stops a hanging script and --api-key-file reaches a server by URL
 * (the W&B server here is a TEST DOUBLE: tests/doubles/wandb-server-double.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWandbDouble, type WandbDouble } from "../doubles/wandb-server-double.ts";
import { runE2E } from "../helpers.ts";
import { validateAgainst } from "../schema.ts";

// No credentials from the machine running the tests.
const NO_SECRETS = { WANDB_API_KEY: "", E2E_WANDB_API_KEY_FILE: "", CLEARML_API_ACCESS_KEY: "", CLEARML_API_SECRET_KEY: "", E2E_CLEARML_CREDENTIALS_FILE: "" };
let root = "";
beforeAll(() => void (root = mkdtempSync(join(tmpdir(), "e2e-corridor-test-"))));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("modes come from the backend descriptors", () => {
  test("--backend all --mode docker: exit 2 naming each backend's modes, before anything starts", async () => {
    const r = await runE2E(["run", "--backend", "all", "--mode", "docker"], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("e2e: error: wandb and clearml have no docker mode (mlflow: native, docker, url; wandb: offline, url; clearml: offline, url)");
    expect(r.stderr).toContain("--backend mlflow with --mode docker");
  }, 60_000);
  test("--backend wandb --mode docker: exit 2", async () => {
    const r = await runE2E(["run", "--backend", "wandb", "--mode", "docker"], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("wandb has no docker mode");
  }, 60_000);
});

describe("usage errors exit 2 in every backend", () => {
  test("mlflow --mode url without --url", async () => {
    const r = await runE2E(["run", "--backend", "mlflow", "--mode", "url"], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--mode url needs --url");
  }, 60_000);
  for (const [backend, msg] of [["wandb", "no W&B API key"], ["clearml", "no ClearML credentials"]] as const)
    test(`${backend} by URL with no credentials: the driver's usage error is exit 2, not a backend failure (4)`, async () => {
      // Port 9 (discard): the driver must refuse before it reaches the network.
      const r = await runE2E(["run", "--backend", backend, "--url", "http://127.0.0.1:9", "--json"], { env: NO_SECRETS, timeoutMs: 200_000 });
      expect(r.code).toBe(2);
      const doc = JSON.parse(r.stdout);
      expect(await validateAgainst("run-result.schema.json", doc)).toEqual([]);
      expect(doc.exitCode).toBe(2);
      expect(doc.backends[0].error.message).toContain(msg);
      expect(doc.backends[0].error.exitCode).toBe(2);
    }, 240_000);
});

describe("e2e run --script shares the backend session", () => {
  test("--timeout stops a script that hangs: exit 1, the exit check names the deadline", async () => {
    const dir = join(root, "hang");
    require("node:fs").mkdirSync(dir);
    writeFileSync(join(dir, "train.py"), "import time\nprint('training', flush=True)\ntime.sleep(10**6)\n");
    const r = await runE2E(["run", "--script", "train.py", "--backend", "wandb", "--timeout", "5", "--json"], { cwd: dir, timeoutMs: 240_000 });
    const doc = JSON.parse(r.stdout);
    expect(r.code).toBe(1);
    expect(doc.status).toBe("failed");
    const exit = doc.backends[0].workflows[0].checks.find((c: { name: string }) => c.name === "script.exit");
    expect(exit.status).toBe("fail");
    expect(exit.message).toContain("ran past --timeout 5 s and was stopped");
  }, 300_000);

  let double: WandbDouble | undefined;
  afterAll(() => double?.stop());
  test("--api-key-file reaches the W&B server by URL (no key in the environment)", async () => {
    const key = "k".repeat(40);
    double = startWandbDouble({ apiKey: key });
    const dir = join(root, "keyed");
    require("node:fs").mkdirSync(dir);
    writeFileSync(join(dir, "train.py"), "print('nothing logged')\n");
    const keyFile = join(root, "wandb.key");
    writeFileSync(keyFile, `${key}\n`);
    const r = await runE2E(["run", "--script", "train.py", "--backend", "wandb", "--url", double.url, "--api-key-file", keyFile, "--timeout", "120", "--json"], { cwd: dir, env: NO_SECRETS, timeoutMs: 240_000 });
    const doc = JSON.parse(r.stdout);
    // The server accepted the key from the file (its viewer query) and the script ran against it.
    expect(doc.backends[0].error).toBeUndefined();
    expect(doc.backends[0].url).toBe(double.url);
    expect(double.ops).toContain("Viewer");
    expect(doc.backends[0].workflows[0].checks.find((c: { name: string }) => c.name === "script.exit").status).toBe("pass");
    // Nothing was logged, so that is a failed check (exit 1), not a backend error.
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(key);
  }, 300_000);
});
