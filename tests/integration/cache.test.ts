/**
 * The cache shared by concurrent e2e processes, through the executable: two first runs at once on
 * an empty cache both succeed and the venv is built once; a complete venv is never removed because
 * its probe failed in a hostile environment; the recorded probe is used while the venv is
 * unchanged and asked again when a package changes. The venv is made from stub wheels
 * (tests/fixtures/stub-wheels.ts) by the real code path, so it takes seconds.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { e2eCommand, runE2E } from "../helpers.ts";
import { stubAssets, stubWheelhouse } from "../fixtures/stub-wheels.ts";

let root = "";
let wheels = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "e2e-cache-test-"));
  wheels = await stubWheelhouse(join(root, "wheels"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const env = (cache: string, extra: Record<string, string> = {}) => ({ E2E_CACHE_DIR: cache, PIP_CONFIG_FILE: "/dev/null", ...extra });

test("two first runs at once on an empty cache: both pass, the venv is built once", async () => {
  const cache = join(root, "cache-concurrent");
  const assets = stubAssets(join(root, "assets-concurrent"), "concurrent");
  const args = ["setup", "--json", "--assets", assets, "--wheelhouse", wheels];
  const [a, b] = await Promise.all([runE2E(args, { env: env(cache) }), runE2E(args, { env: env(cache) })]);
  for (const r of [a, b]) if (r.code !== 0) console.error(r.stderr);
  expect([a.code, b.code]).toEqual([0, 0]);
  const pa = JSON.parse(a.stdout).python as string;
  expect(JSON.parse(b.stdout).python).toBe(pa);
  const built = [a, b].filter((r) => r.stderr.includes("creating Python venv"));
  expect(built).toHaveLength(1);
  const other = built[0] === a ? b : a;
  expect(other.stderr).toMatch(/waiting for another e2e \(pid \d+\) building the Python env/);
  // One venv, no lock, no temporary folder, no kept log.
  const venvs = readdirSync(join(cache, "venvs"));
  expect(venvs).toHaveLength(1);
  expect(venvs[0]).toMatch(/^[0-9a-f]{16}$/);
  const dir = join(cache, "venvs", venvs[0]!);
  expect(existsSync(join(dir, ".complete"))).toBe(true);
  // The venv was made elsewhere and renamed: its console scripts point at the final folder.
  const torchrun = spawnSync(join(dir, "bin", "torchrun"), { encoding: "utf8" });
  expect(torchrun.stdout.trim()).toBe("stub torchrun ok");
}, 300_000);

test("a builder killed mid-build (SIGKILL) does not block the next run, which builds in its place", async () => {
  const cache = join(root, "cache-killed");
  const assets = stubAssets(join(root, "assets-killed"), "killed");
  const args = ["setup", "--assets", assets, "--wheelhouse", wheels];
  const [cmd, ...pre] = e2eCommand();
  const first = spawn(cmd!, [...pre, ...args], { env: { ...process.env, ...env(cache) } });
  let err = "";
  await new Promise<void>((resolve) => first.stderr.on("data", (d) => (err += d) && /installing pinned packages/.test(err) && resolve()));
  first.kill("SIGKILL");
  await new Promise((r) => first.on("exit", r));
  const venvs = join(cache, "venvs");
  expect(readdirSync(venvs).some((n) => n.endsWith(".lock"))).toBe(true); // left behind: no teardown
  const second = await runE2E(args, { env: env(cache), timeoutMs: 300_000 });
  expect(second.code).toBe(0);
  expect(second.stderr).toContain("creating Python venv");
  await Bun.sleep(500);
  const left = readdirSync(venvs);
  expect(left).toHaveLength(1); // the venv: no lock, no temporary folder of either builder
  expect(existsSync(join(venvs, left[0]!, ".complete"))).toBe(true);
}, 300_000);

test("two first runs at once unpack the embedded assets once", async () => {
  const cache = join(root, "cache-assets");
  const [a, b] = await Promise.all([runE2E(["assets", "extract", join(root, "ex-a")], { env: env(cache) }), runE2E(["assets", "extract", join(root, "ex-b")], { env: env(cache) })]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect(existsSync(join(root, "ex-a", "python", "e2e_track", "core.py"))).toBe(true);
  expect(existsSync(join(root, "ex-b", "python", "e2e_track", "core.py"))).toBe(true);
  const left = readdirSync(join(cache, "assets"));
  // From a checkout (not the compiled executable) nothing is unpacked at all.
  expect(left.length).toBeLessThanOrEqual(1);
  for (const n of left) expect(n).toMatch(/^[0-9a-f]{16}$/);
});

test("a venv that fails its probe because of PYTHONPATH is kept, and the error names the cause (exit 3)", async () => {
  const cache = join(root, "cache-hostile");
  const assets = stubAssets(join(root, "assets-hostile"), "hostile");
  const made = await runE2E(["setup", "--json", "--assets", assets, "--wheelhouse", wheels], { env: env(cache) });
  expect(made.code).toBe(0);
  const venv = join(cache, "venvs", readdirSync(join(cache, "venvs"))[0]!);
  const before = statSync(join(venv, "bin", "python"), { bigint: true }).ino;
  const hostile = join(root, "hostile-path");
  mkdirSync(hostile, { recursive: true });
  writeFileSync(
    join(hostile, "sitecustomize.py"),
    "import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):\n        if name == 'wandb':\n            raise ImportError('wandb blocked by a sitecustomize')\nsys.meta_path.insert(0, Block())\n",
  );
  for (const args of [["setup"], ["doctor"]]) {
    const r = await runE2E([...args, "--assets", assets], { env: env(cache, { PYTHONPATH: hostile }) });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("wandb blocked by a sitecustomize");
    expect(r.stderr).toContain(`PYTHONPATH=${hostile}`);
    expect(r.stderr).toContain(join(hostile, "sitecustomize.py"));
    expect(r.stderr).not.toContain("creating Python venv");
  }
  // Still the same, complete venv; without the variable it works again.
  expect(statSync(join(venv, "bin", "python"), { bigint: true }).ino).toBe(before);
  expect(existsSync(join(venv, ".complete"))).toBe(true);
  const ok = await runE2E(["setup", "--assets", assets], { env: env(cache) });
  expect(ok.code).toBe(0);
}, 300_000);

test("the recorded probe is used while the venv is unchanged, and asked again when a package changes", async () => {
  const cache = join(root, "cache-probe");
  const assets = stubAssets(join(root, "assets-probe"), "probe");
  expect((await runE2E(["setup", "--assets", assets, "--wheelhouse", wheels], { env: env(cache) })).code).toBe(0);
  const venv = join(cache, "venvs", readdirSync(join(cache, "venvs"))[0]!);
  const doctor = async (extra: string[] = []) => {
    const r = await runE2E(["doctor", "--json", "--assets", assets, ...extra], { env: env(cache) });
    const doc = JSON.parse(r.stdout) as { findings: { name: string; data?: any; message: string }[] };
    const f = (n: string) => doc.findings.find((x) => x.name === n)!;
    return { cached: f("python").data?.cached as boolean, torch: f("packages").data?.torch as string };
  };
  expect(await doctor()).toEqual({ cached: true, torch: "0.0.1" }); // recorded when the venv was made
  // pip replaces torch (a new dist-info in site-packages): probed again, then recorded.
  const pip = spawnSync(join(venv, "bin", "python"), ["-m", "pip", "install", "--no-index", "--find-links", wheels, "torch==0.0.2"], { encoding: "utf8", env: { ...process.env, PIP_CONFIG_FILE: "/dev/null" } });
  expect(pip.status).toBe(0);
  expect(await doctor()).toEqual({ cached: false, torch: "0.0.2" });
  expect(await doctor()).toEqual({ cached: true, torch: "0.0.2" });
  expect(await doctor(["--deep"])).toEqual({ cached: false, torch: "0.0.2" });
  // The same for --python: probed once per interpreter, recorded under the cache.
  const py = join(venv, "bin", "python");
  const user = async () => {
    const r = await runE2E(["doctor", "--json", "--assets", assets, "--python", py], { env: env(cache) });
    return (JSON.parse(r.stdout).findings as { name: string; data?: any }[]).find((x) => x.name === "python")!.data?.cached;
  };
  expect(await user()).toBe(false);
  expect(await user()).toBe(true);
  expect(readdirSync(join(cache, "probes"))).toHaveLength(1);
}, 300_000);
