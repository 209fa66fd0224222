/**
 * Two `e2e bundle create DIR` at once, made cheap: a wheelhouse of one small wheel (an asset
 * folder whose requirements.txt pins only `six`) and /bin/true as the executable. The first
 * builds under DIR.lock; one started meanwhile waits and takes that bundle (or refuses it when
 * it asked for another); a builder killed mid-way does not block the next one. The first one's
 * pip is slowed by a wrapper (E2E_BASE_PYTHON), so the second surely finds it building.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest, verifyBundle } from "../../src/bundle/manifest.ts";
import { e2eCommand, repoRoot } from "../helpers.ts";

let tmp = "";
let assets = "";
/** Sleeps N seconds before `pip download` only, then is python3. */
const slowPython = (seconds: number) => join(tmp, `python-slow-${seconds}`);
const TARGET = ["--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--executable", "/bin/true"];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "e2e-bundle-race-"));
  assets = join(tmp, "assets");
  await mkdir(join(assets, "python"), { recursive: true });
  await mkdir(join(assets, "assets"), { recursive: true });
  await writeFile(join(assets, "python", "requirements.txt"), "six\n");
  for (const s of [4, 600]) {
    await writeFile(slowPython(s), `#!/bin/sh\n[ "$2 $3" = "pip download" ] && sleep ${s}\nexec python3 "$@"\n`);
    await chmod(slowPython(s), 0o755);
  }
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  code: Promise<number>;
}
function start(dir: string, extra: string[] = [], env: Record<string, string> = {}): Proc {
  const [cmd, ...pre] = e2eCommand();
  // Its own process group, so a test can kill it with its pip as a crash would.
  const child = spawn(cmd!, [...pre, "bundle", "create", dir, "--assets", assets, ...TARGET, ...extra], { cwd: repoRoot, env: { ...process.env, ...env }, detached: true });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const code = new Promise<number>((r) => child.on("exit", (c, sig) => r(c ?? (sig ? 128 : 1))));
  return { child, stderr: () => err, stdout: () => out, code };
}
async function until(p: Proc, re: RegExp, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(p.stderr())) {
    if (Date.now() > end || p.child.exitCode !== null) throw new Error(`never saw ${re}; stderr:\n${p.stderr()}`);
    await Bun.sleep(50);
  }
}

test("a second create of the same DIR waits for the first and takes its bundle; one asking for another is refused", async () => {
  const root = join(tmp, "race");
  await mkdir(root);
  const dir = join(root, "bundle");
  const a = start(dir, ["--json"], { E2E_BASE_PYTHON: slowPython(4) });
  await until(a, /downloading wheels/);
  const b = start(dir, ["--json"]);
  const c = start(dir, ["--python-version", "3.12"]);
  const [ca, cb, cc] = await Promise.all([a.code, b.code, c.code]);
  expect({ code: ca, err: ca ? a.stderr() : "" }).toEqual({ code: 0, err: "" });
  expect({ code: cb, err: cb ? b.stderr() : "" }).toEqual({ code: 0, err: "" });
  expect(b.stderr()).toContain(`waiting for another e2e (pid ${a.child.pid}) making a bundle in ${dir}`);
  expect(b.stderr()).not.toContain("downloading wheels");
  // The same bundle, not a second one: B reports A's manifest.
  expect(JSON.parse(b.stdout())).toEqual(JSON.parse(a.stdout()));
  expect(cc).toBe(2);
  expect(c.stderr()).toContain("another e2e made a different bundle");
  expect(await verifyBundle(dir)).toBeDefined();
  expect((await readManifest(dir)).files.map((f) => f.path).filter((p) => p.startsWith("wheels/six-"))).toHaveLength(1);
  expect(await readdir(root)).toEqual(["bundle"]); // no lock, temporary folder or pip log left
}, 300_000);

test("a builder killed mid-way leaves a lock the next create takes over, and its half bundle goes", async () => {
  const root = join(tmp, "crash");
  await mkdir(root);
  const dir = join(root, "bundle");
  const a = start(dir, [], { E2E_BASE_PYTHON: slowPython(600) });
  await until(a, /downloading wheels/);
  process.kill(-a.child.pid!, "SIGKILL");
  await a.code;
  expect((await readdir(root)).sort()).toEqual(expect.arrayContaining(["bundle.lock", expect.stringMatching(/^\.bundle\.tmp-/)]));
  const b = start(dir);
  expect({ code: await b.code, err: b.stderr().slice(-2000) }).toMatchObject({ code: 0 });
  expect(b.stderr()).toContain("downloading wheels");
  expect(await verifyBundle(dir)).toBeDefined();
  expect(await readdir(root)).toEqual(["bundle"]);
}, 300_000);
