import { afterEach, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCacheEntry, lockPath, procStart, type CacheEntryOptions } from "./cache-entry.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "e2e-cache-entry-"));
  dirs.push(d);
  return d;
}

const complete = async (d: string) => existsSync(join(d, ".complete"));

function entry(dir: string, builds: string[], delayMs = 0): CacheEntryOptions {
  return {
    dir,
    what: "the test entry",
    isComplete: complete,
    pollMs: 20,
    build: async (t) => {
      builds.push(t);
      await new Promise((r) => setTimeout(r, delayMs));
      await writeFile(join(t, "data"), "x");
      await writeFile(join(t, ".complete"), "");
    },
  };
}

test("builds in a sibling, renames into place, removes the lock and the temporary folder", async () => {
  const root = await tmp();
  const dir = join(root, "e");
  const builds: string[] = [];
  const r = await ensureCacheEntry(entry(dir, builds));
  expect(r.how).toBe("built");
  expect(builds[0]).not.toBe(dir);
  expect(await readFile(join(dir, "data"), "utf8")).toBe("x");
  expect((await readdir(root)).sort()).toEqual(["e"]);
  expect((await ensureCacheEntry(entry(dir, builds))).how).toBe("found");
  expect(builds.length).toBe(1);
});

test("a second caller waits for a live builder and uses its result", async () => {
  const dir = join(await tmp(), "e");
  const builds: string[] = [];
  const waits: number[] = [];
  const a = ensureCacheEntry(entry(dir, builds, 300));
  await new Promise((r) => setTimeout(r, 50));
  const b = ensureCacheEntry({ ...entry(dir, builds), onWait: (h) => waits.push(h.pid) });
  const [ra, rb] = await Promise.all([a, b]);
  expect(builds.length).toBe(1);
  expect([ra.how, rb.how]).toEqual(["built", "waited"]);
  expect(waits).toEqual([process.pid]);
});

test("a lock left by a dead builder is taken over; a half folder in the way is replaced", async () => {
  const dir = join(await tmp(), "e");
  const dead = spawnSync("true").pid!;
  await writeFile(lockPath(dir), JSON.stringify({ pid: dead, host: hostname(), started: "then" }));
  await mkdir(dir); // half-made by the dead builder: no .complete
  await writeFile(join(dir, "junk"), "");
  const leftover = join(dir, "..", `.e.tmp-${dead}-abcdef`); // its temporary folder (SIGKILL: no teardown)
  await mkdir(leftover);
  const builds: string[] = [];
  const r = await ensureCacheEntry(entry(dir, builds));
  expect(r.how).toBe("built");
  expect(existsSync(join(dir, "junk"))).toBe(false);
  expect(existsSync(lockPath(dir))).toBe(false);
  expect(existsSync(leftover)).toBe(false);
});

test("a live pid with another start time (reused pid) is stale; a live builder is not", async () => {
  const dir = join(await tmp(), "e");
  const sleeper = spawn("sleep", ["30"]);
  try {
    await new Promise((r) => setTimeout(r, 100));
    expect(procStart(sleeper.pid!)).toBeDefined();
    await writeFile(lockPath(dir), JSON.stringify({ pid: sleeper.pid, host: hostname(), procStart: "1", started: "then" }));
    expect((await ensureCacheEntry(entry(dir, []))).how).toBe("built");

    const dir2 = join(await tmp(), "e");
    await writeFile(lockPath(dir2), JSON.stringify({ pid: sleeper.pid, host: hostname(), procStart: procStart(sleeper.pid!), started: "now" }));
    const waits: number[] = [];
    const p = ensureCacheEntry({ ...entry(dir2, []), onWait: (h) => waits.push(h.pid) });
    await new Promise((r) => setTimeout(r, 200));
    expect(waits).toEqual([sleeper.pid!]);
    sleeper.kill("SIGKILL"); // the builder dies: the waiter takes over
    expect((await p).how).toBe("built");
  } finally {
    sleeper.kill("SIGKILL");
  }
});

test("another host's lock is stale only when its heartbeat stops", async () => {
  const dir = join(await tmp(), "e");
  await writeFile(lockPath(dir), JSON.stringify({ pid: 1, host: "elsewhere", started: "then" }));
  const waits: string[] = [];
  const p = ensureCacheEntry({ ...entry(dir, []), staleMs: 400, onWait: (h) => waits.push(h.host) });
  await new Promise((r) => setTimeout(r, 150));
  expect(existsSync(join(dir, ".complete"))).toBe(false);
  expect(waits).toEqual(["elsewhere"]);
  expect((await p).how).toBe("built");
});

test("a failed build publishes nothing and leaves no lock or temporary folder", async () => {
  const root = await tmp();
  const dir = join(root, "e");
  await expect(ensureCacheEntry({ ...entry(dir, []), build: async () => { throw new Error("pip failed"); } })).rejects.toThrow("pip failed");
  expect(await readdir(root)).toEqual([]);
});

test("keepIncomplete: a folder of someone else's that appears meanwhile is left alone, and the build is an error", async () => {
  const root = await tmp();
  const dir = join(root, "e");
  const theirs = async () => {
    await mkdir(dir);
    await writeFile(join(dir, "mine.txt"), "user data");
  };
  const build = async (t: string) => {
    await theirs();
    await writeFile(join(t, ".complete"), "");
  };
  await expect(ensureCacheEntry({ ...entry(dir, []), keepIncomplete: true, build })).rejects.toThrow(`${dir} appeared while the test entry was being made there`);
  expect(await readdir(root)).toEqual(["e"]);
  expect(await readFile(join(dir, "mine.txt"), "utf8")).toBe("user data");
  // Without it (a cache folder), the half folder in the way is replaced.
  await rm(dir, { recursive: true });
  expect((await ensureCacheEntry({ ...entry(dir, []), build })).how).toBe("built");
  expect(existsSync(join(dir, "mine.txt"))).toBe(false);
});
