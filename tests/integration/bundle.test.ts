/**
 * The air-gapped bundle for real: `e2e bundle create` here (pip download of every pinned wheel,
 * torch as the local CPU wheel; the Docker images too when the engine has the stand-ins), then
 * `e2e bundle install` and `e2e run` inside a network namespace with only loopback
 * (`unshare -n`), with pip's own configuration switched off and a fresh E2E_CACHE_DIR, so the
 * venv is built from the wheelhouse and nothing else. Then a changed byte must be refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMPOSE_STACKS } from "../../src/backends/registry.ts";
import { runE2E } from "../helpers.ts";

const canUnshare = spawnSync("unshare", ["-n", "sh", "-c", "ip link set lo up"]).status === 0;
const docker = spawnSync("docker", ["image", "inspect", "e2e-local/mlflow:3.17.2", "e2e-local/postgres:15"]).status === 0;
const imageEnv = { E2E_MLFLOW_IMAGE: "e2e-local/mlflow:3.17.2", E2E_POSTGRES_IMAGE: "e2e-local/postgres:15" };

let tmp = "";
let bundle = "";
let cache = "";
/** The environment inside the namespace: no pip settings from this machine (no --find-links to local wheels, no extra index). */
function offlineEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PIP_") && k !== "E2E_ASSETS") env[k] = v;
  return { ...env, PIP_CONFIG_FILE: "/dev/null", E2E_CACHE_DIR: cache, B: bundle, ...(docker ? imageEnv : {}) };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "e2e-bundle-test-"));
  bundle = join(tmp, "bundle");
  cache = join(tmp, "cache");
});
afterAll(() => rm(tmp, { recursive: true, force: true }), 120_000);

describe.skipIf(!canUnshare)("e2e bundle: made here, installed and run with no network", () => {
  test("create: executable, wheelhouse with the local torch CPU wheel, images, manifest", async () => {
    const t0 = Date.now();
    const args = ["bundle", "create", bundle, "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", ...(docker ? ["--images", "mlflow"] : [])];
    const r = await runE2E(args, { env: docker ? imageEnv : {}, timeoutMs: 900_000 });
    console.error(`bundle create: ${((Date.now() - t0) / 1000).toFixed(0)} s${docker ? " (with the mlflow images)" : ""}`);
    expect(r.stderr).toContain("bundle ");
    expect(r.code).toBe(0);
    const m = JSON.parse(await readFile(join(bundle, "manifest.json"), "utf8"));
    expect(m.schema).toBe("e2e/bundle/v1");
    const wheels = readdirSync(join(bundle, "wheels"));
    expect(wheels.some((w) => /^torch-2\.13\.0\+cpu-cp311-.*\.whl$/.test(w))).toBe(true);
    for (const p of ["mlflow-3.17.2", "wandb-0.31.0", "clearml-2.1.12", "matplotlib-3.11.2"]) expect(wheels.some((w) => w.startsWith(p))).toBe(true);
    expect(m.files.map((f: { path: string }) => f.path)).toContain("e2e");
    expect(m.files.length).toBe(wheels.length + 2 + (docker ? 1 : 0)); // + e2e, README.txt, images/mlflow.tar
    if (docker) expect(m.images.mlflow.images).toEqual(expect.arrayContaining(Object.values(imageEnv)));
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-") || f.endsWith(".lock") || f.endsWith(".log"))).toEqual([]);
  }, 900_000);

  test("install + run in `unshare -n`: the venv from the wheelhouse, every check passes", async () => {
    expect(existsSync(join(bundle, "e2e"))).toBe(true);
    const script = [
      "ip link set lo up",
      // Only loopback: any other interface means this proves nothing.
      `if ip -o link show | grep -v ': lo:'; then echo 'not isolated' >&2; exit 99; fi`,
      `"$B/e2e" bundle install "$B"`,
      `"$B/e2e" run --backend mlflow,wandb,clearml --json`,
    ].join(" && ");
    const t0 = Date.now();
    const r = spawnSync("unshare", ["-n", "sh", "-c", script], { env: offlineEnv(), encoding: "utf8", timeout: 1_500_000, maxBuffer: 64 << 20 });
    console.error(`offline install + run: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (r.status !== 0) console.error(r.stderr.slice(-6000));
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`from ${join(bundle, "wheels")}`); // the venv was made here, from the bundle
    if (docker) expect(r.stderr).toContain("e2e-local/mlflow:3.17.2");
    const doc = JSON.parse(r.stdout);
    expect(doc.status).toBe("passed");
    expect(doc.backends.map((b: { backend: string }) => b.backend).sort()).toEqual(["clearml", "mlflow", "wandb"]);
    expect(existsSync(join(cache, "venvs"))).toBe(true);
  }, 1_500_000);

  test("setup --bundle checks the bundle and reuses the venv it made", async () => {
    const r = await runE2E(["setup", "--bundle", bundle, "--json"], { env: offlineEnv(), timeoutMs: 300_000 });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).python).toStartWith(join(cache, "venvs"));
  }, 300_000);

  test("one changed byte: exit 2, the file named, nothing installed", async () => {
    const wheel = readdirSync(join(bundle, "wheels")).find((w) => w.startsWith("mlflow-"))!;
    const f = await open(join(bundle, "wheels", wheel), "r+");
    const b = Buffer.alloc(1);
    await f.read(b, 0, 1, 1000);
    await f.write(Buffer.from([b[0]! ^ 0xff]), 0, 1, 1000);
    await f.close();
    const fresh = join(tmp, "cache2");
    const r = await runE2E(["bundle", "install", bundle], { env: { ...offlineEnv(), E2E_CACHE_DIR: fresh }, timeoutMs: 300_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`wheels/${wheel} does not match its sha256`);
    expect(existsSync(join(fresh, "venvs"))).toBe(false);
  }, 300_000);

  test("not a bundle, and a non-empty target: exit 2 with the fix", async () => {
    const r = await runE2E(["bundle", "install", tmp], { env: offlineEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not a bundle");
    const c = await runE2E(["bundle", "create", bundle]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("is not empty");
  }, 60_000);
});

describe("e2e images", () => {
  test("an unknown stack is a usage error naming the valid ones", async () => {
    const r = await runE2E(["images", "save", join(tmpdir(), "never.tar"), "--stack", "neptune"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`use ${COMPOSE_STACKS.join(", ")} or all`);
  }, 60_000);
});
