/**
 * A cache entry that several e2e processes share (a venv, unpacked assets): built in a temporary
 * sibling folder by one process holding `<entry>.lock`, published by an atomic rename when
 * complete. A process that finds the lock held by a live builder waits for it and then uses the
 * result; a lock whose builder is dead (same host, pid gone or reused) or silent (no heartbeat:
 * another host on a shared disk) is stale and taken over, so a crashed builder never blocks the
 * next run. The rename decides, not the lock: if two builders ever race, one rename wins and the
 * other's work is discarded. A complete entry is never removed here.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { onInterrupt, onTeardown } from "../runtime/lifecycle.ts";
import { InterruptedError, usageError } from "./errors.ts";

export interface LockHolder {
  pid: number;
  host: string;
  /** Kernel start time of the pid (Linux), to tell a reused pid from the builder. */
  procStart?: string;
  started: string;
}

export interface CacheEntryOptions {
  /** Final folder of the entry. */
  dir: string;
  /** Words for messages: "the Python env", "the assets". */
  what: string;
  /** Whether a folder holds a complete entry (a marker file, usually). */
  isComplete: (dir: string) => Promise<boolean>;
  /** Fill `tmp` (an empty sibling of `dir`); it is renamed to `dir` when this resolves. */
  build: (tmp: string) => Promise<void>;
  /**
   * A folder that is not a complete entry in the way of the rename: replaced (the default: a half
   * folder an older e2e left), or, for a folder the user named (a bundle), left alone and an error.
   */
  keepIncomplete?: boolean;
  /** Told once when another process holds the lock. */
  onWait?: (holder: LockHolder, what: string) => void;
  /** A lock not refreshed for this long is stale (builders refresh it every heartbeatMs). */
  staleMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
}

export interface CacheEntryResult {
  dir: string;
  /** "built": this process made it; "waited": another did while we waited; "found": it was there. */
  how: "built" | "waited" | "found";
}

export const lockPath = (dir: string) => `${dir}.lock`;

/** The entry at `o.dir`, built by this process or another. */
export async function ensureCacheEntry(o: CacheEntryOptions): Promise<CacheEntryResult> {
  const lock = lockPath(o.dir);
  const pollMs = o.pollMs ?? 250;
  let waitedFor: number | undefined;
  await mkdir(dirname(o.dir), { recursive: true });
  for (;;) {
    if (await o.isComplete(o.dir)) return { dir: o.dir, how: waitedFor ? "waited" : "found" };
    if (await tryLock(lock)) {
      try {
        // Someone may have published between our check and our lock.
        if (await o.isComplete(o.dir)) return { dir: o.dir, how: waitedFor ? "waited" : "found" };
        await buildAndPublish(o, lock);
        return { dir: o.dir, how: "built" };
      } finally {
        await releaseLock(lock);
      }
    }
    const holder = await readHolder(lock);
    if (holder && (await isStale(lock, holder, o.staleMs ?? 120_000))) {
      if (await breakLock(lock, holder)) await removeLeftovers(o.dir, holder);
      continue;
    }
    if (holder && waitedFor !== holder.pid) {
      waitedFor = holder.pid;
      o.onWait?.(holder, o.what);
    }
    await sleep(pollMs);
  }
}

async function buildAndPublish(o: CacheEntryOptions, lock: string): Promise<void> {
  const tmp = join(dirname(o.dir), `.${basename(o.dir)}.tmp-${process.pid}-${randomBytes(3).toString("hex")}`);
  const beat = setInterval(() => void touch(lock), o.heartbeatMs ?? 10_000);
  const unregister = onTeardown(`partial ${o.what} ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await o.build(tmp);
    try {
      await rename(tmp, o.dir);
    } catch (err) {
      if (await o.isComplete(o.dir)) return; // another builder won: theirs is as good as ours
      if (o.keepIncomplete) throw usageError(`${o.dir} appeared while ${o.what} was being made there`, "remove it or name a new folder");
      // A half folder from a killed builder of an older e2e is in the way; we hold the lock.
      await rm(o.dir, { recursive: true, force: true });
      await rename(tmp, o.dir);
    }
  } finally {
    clearInterval(beat);
    unregister();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Create the lock file exclusively with our identity; false if it exists. */
async function tryLock(lock: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(lock, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await fh.writeFile(JSON.stringify(self()));
  } finally {
    await fh.close();
  }
  // Removed on Ctrl-C too, so the next run need not find it stale first.
  held.set(lock, onTeardown(`lock ${lock}`, () => releaseLock(lock)));
  return true;
}

const held = new Map<string, () => void>();

async function releaseLock(lock: string): Promise<void> {
  held.get(lock)?.();
  held.delete(lock);
  // Only our own lock: after a takeover race the file may be someone else's.
  const h = await readHolder(lock);
  if (h && h.pid === process.pid && h.host === hostname()) await rm(lock, { force: true });
}

function self(): LockHolder {
  return { pid: process.pid, host: hostname(), procStart: procStart(process.pid), started: new Date().toISOString() };
}

async function readHolder(lock: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await readFile(lock, "utf8")) as LockHolder;
    return typeof h.pid === "number" ? h : undefined;
  } catch {
    return undefined; // gone, or being written: look again next round
  }
}

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot (Linux only). */
export function procStart(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isStale(lock: string, h: LockHolder, staleMs: number): Promise<boolean> {
  if (h.host === hostname()) {
    if (!alive(h.pid)) return true;
    const now = procStart(h.pid);
    if (h.procStart && now && now !== h.procStart) return true; // the pid was reused
    return false;
  }
  // Another host on a shared cache: we cannot see its processes, only its heartbeat.
  const m = await stat(lock).then((s) => s.mtimeMs, () => Date.now());
  return Date.now() - m > staleMs;
}

/** Remove a stale lock, but only if it still holds the same builder (not a fresh lock). */
async function breakLock(lock: string, stale: LockHolder): Promise<boolean> {
  const aside = `${lock}.stale-${process.pid}-${randomBytes(3).toString("hex")}`;
  try {
    await rename(lock, aside);
  } catch {
    return false; // another process broke it first
  }
  const moved = await readHolder(aside);
  const same = !moved || (moved.pid === stale.pid && moved.started === stale.started);
  // A live builder locked in between: give its lock back (link fails if a newer one exists).
  if (!same) await link(aside, lock).catch(() => {});
  await rm(aside, { force: true });
  return same;
}

/** The temporary folder a killed builder (SIGKILL: no teardown) left beside the entry. */
async function removeLeftovers(dir: string, dead: LockHolder): Promise<void> {
  if (dead.host !== hostname()) return; // its name says nothing about another host's pids
  const prefix = `.${basename(dir)}.tmp-${dead.pid}-`;
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[]))
    if (name.startsWith(prefix)) await rm(join(dirname(dir), name), { recursive: true, force: true });
}

async function touch(p: string): Promise<void> {
  const now = new Date();
  await utimes(p, now, now).catch(() => {});
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = onInterrupt((sig) => {
      clearTimeout(t);
      off();
      reject(new InterruptedError(sig));
    });
  });
}
