/**
 * `e2e run --mode docker --backend mlflow` against real containers (server + PostgreSQL from
 * locally built images), then nothing of the session left: also after Ctrl-C during start-up,
 * and after a killed run followed by a new one (the reaper).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { dockerTestEnv, LOCAL_IMAGES, type DockerTestEnv } from "../../src/runtime/docker/testing.ts";
import { LABEL } from "../../src/runtime/docker/session.ts";
import { e2eCommand, runE2E, setupPython } from "../helpers.ts";

const images = { E2E_MLFLOW_IMAGE: LOCAL_IMAGES.mlflow, E2E_POSTGRES_IMAGE: LOCAL_IMAGES.postgres };

// Probed when the file loads, so a test that cannot run is reported as skipped (test.skipIf),
// never as a pass; with E2E_REQUIRE_DOCKER=1 (CI) a missing engine or image is a failing test.
let env: DockerTestEnv;
let required: string | undefined;
try {
  env = await dockerTestEnv();
} catch (err) {
  required = (err as Error).message;
  env = { skip: required };
}
const dockerTest = test.skipIf(!!env.skip);
if (env.skip) console.warn(`docker-run tests skipped: ${env.skip}`);

beforeAll(() => {
  if (!env.skip) setupPython();
}, 1_200_000);

if (required) test("Docker is required here (E2E_REQUIRE_DOCKER=1)", () => {
  throw new Error(required);
});

/** Every container, network and volume any e2e session labelled. */
async function leftovers(): Promise<string[]> {
  const docker = env.engine!.docker;
  const filters = JSON.stringify({ label: [LABEL.session] });
  const [c, n, v] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listVolumes({ filters })]);
  return [...c.map((x) => `container ${x.Names[0]}`), ...n.map((x) => `network ${x.Name}`), ...(v.Volumes ?? []).map((x) => `volume ${x.Name}`)];
}

const spawnE2E = (args: string[], extraEnv: Record<string, string> = {}) => {
  const [cmd, ...pre] = e2eCommand();
  const child = spawn(cmd!, [...pre, ...args], { env: { ...process.env, ...images, ...extraEnv } });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number>((r) => child.on("exit", (c, s) => r(c ?? (s === "SIGKILL" ? 137 : 128))));
  const waitFor = (re: RegExp) => new Promise<void>((resolve) => {
    const t = setInterval(() => re.test(stderr) && (clearInterval(t), resolve()), 100);
  });
  return { child, exited, waitFor, stderr: () => stderr };
};

describe("docker mode (real engine, local images)", () => {
  dockerTest("run --mode docker --backend mlflow passes every check and leaves nothing", async () => {
    await runE2E(["down", "--all"], { env: images });
    const r = await runE2E(["run", "--mode", "docker", "--backend", "mlflow", "--json"], { env: images });
    const doc = JSON.parse(r.stdout);
    expect(doc.backends[0].mode).toBe("docker");
    expect(doc.backends[0].workflows[0].checks.filter((c: { status: string }) => c.status === "fail")).toEqual([]);
    expect(doc.status).toBe("passed");
    expect(r.code).toBe(0);
    expect(await leftovers()).toEqual([]);
  }, 900_000);

  dockerTest("Ctrl-C during start-up leaves nothing", async () => {
    const p = spawnE2E(["run", "--mode", "docker", "--backend", "mlflow"]);
    await p.waitFor(/postgres: started/);
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(130);
    expect(await leftovers()).toEqual([]);
  }, 600_000);

  dockerTest("a killed run's stack is reaped by the next run", async () => {
    // A SIGKILLed run cannot remove its own work folder (README): it goes in one this test removes.
    const { mkdtemp, readdir, rm } = await import("node:fs/promises");
    const tmp = await mkdtemp("/tmp/e2e-killed-run-test-");
    try {
      const p = spawnE2E(["run", "--mode", "docker", "--backend", "mlflow"], { E2E_TMPDIR: tmp });
      await p.waitFor(/mlflow: started/);
      p.child.kill("SIGKILL");
      await p.exited;
      expect((await leftovers()).length).toBeGreaterThan(0);
      expect((await readdir(tmp)).length).toBe(1); // the killed run's folder, left as README says
      const next = await runE2E(["up", "--backend", "mlflow"], { env: images });
      expect(next.stderr).toContain("reaped 1 dead session");
      expect(next.code).toBe(0);
      expect(await leftovers()).toEqual([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 900_000);

  dockerTest("a compose override outside the supported subset is refused with the key named", async () => {
    const { mkdtemp, cp, writeFile, readFile, rm } = await import("node:fs/promises");
    const dir = await mkdtemp("/tmp/e2e-assets-test-");
    const [cmd, ...pre] = e2eCommand();
    const ex = await runE2E(["assets", "extract", `${dir}/a`]);
    expect(ex.code).toBe(0);
    const f = `${dir}/a/assets/compose/mlflow.yml`;
    await writeFile(f, (await readFile(f, "utf8")).replace("    restart: \"no\"\n\n  mlflow:", "    privileged: true\n\n  mlflow:"));
    const r = await runE2E(["up", "--backend", "mlflow", "--assets", `${dir}/a`], { env: images });
    await rm(dir, { recursive: true, force: true });
    void cmd, pre, cp;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("privileged");
    expect(await leftovers()).toEqual([]);
  }, 300_000);
});
