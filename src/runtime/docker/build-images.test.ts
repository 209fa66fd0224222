/**
 * assets/docker/build-images.sh's lock per image tag, without building anything: the local
 * stand-in image exists, so a run that gets the lock only says so. A second run waits with a
 * message while the lock is held, goes on when its holder is killed (the kernel drops a flock),
 * and with --force uses an image another run made while it waited. A wrong turn would start
 * debootstrap against an unreachable mirror and fail at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_IMAGES } from "./testing.ts";

const script = join(import.meta.dir, "../../../assets/docker/build-images.sh");
const version = /^e2e-local\/mlflow:(.+)$/.exec(LOCAL_IMAGES.mlflow)?.[1];
const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const why =
  process.getuid?.() !== 0 ? "not root" :
  !has("sh", ["-c", "command -v flock && command -v debootstrap"]) ? "no flock or debootstrap" :
  !version ? `${LOCAL_IMAGES.mlflow} is not an e2e-local/mlflow image` :
  !has("docker", ["image", "inspect", LOCAL_IMAGES.mlflow]) ? `no ${LOCAL_IMAGES.mlflow} (build it: assets/docker/build-images.sh)` : "";
if (why) console.warn(`[build-images lock tests skipped] ${why}`);

let cache = "";
const kids: ChildProcess[] = [];
beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), "e2e-build-images-lock-"));
});
afterAll(async () => {
  for (const k of kids) if (k.exitCode === null && k.signalCode === null) process.kill(-k.pid!, "SIGKILL");
  await rm(cache, { recursive: true, force: true });
});

const lockOf = (image: string) => join(cache, `${image.replace(/[/:]/g, "_")}.lock`);
/** Another build-images as the lock sees it: holds the image's flock and writes its pid, until killed. */
async function holder(image: string): Promise<ChildProcess> {
  const lock = lockOf(image);
  const k = spawn("flock", [lock, "sh", "-c", `echo $$ >'${lock}'; exec sleep 600`], { detached: true, stdio: "ignore" });
  kids.push(k);
  while (has("flock", ["-n", lock, "true"])) await Bun.sleep(20);
  return k;
}
function run(args: string[], env: Record<string, string>) {
  const k = spawn("sh", [script, ...args], { env: { ...process.env, E2E_IMAGE_CACHE: cache, E2E_DEBIAN_MIRROR: "http://127.0.0.1:9/debian", ...env }, detached: true });
  kids.push(k);
  let err = "";
  k.stderr!.on("data", (d) => (err += d));
  const code = new Promise<number>((r) => k.on("exit", (c) => r(c ?? 128)));
  return { err: () => err, code, exited: () => k.exitCode !== null };
}
async function until(cond: () => boolean, what: string, ms = 30_000) {
  for (const end = Date.now() + ms; !cond(); await Bun.sleep(50)) if (Date.now() > end) throw new Error(`never: ${what}`);
}

describe(`build-images.sh: one build per image tag at a time${why ? ` (SKIPPED: ${why})` : ""}`, () => {
  test.skipIf(!!why)("waits for a held lock with a message, and goes on when its holder is killed; an existing image is not rebuilt", async () => {
    const h = await holder(LOCAL_IMAGES.mlflow);
    const r = run(["mlflow"], { E2E_MLFLOW_VERSION: version! });
    await until(() => r.err().includes("waiting for another build-images"), `a wait message; stderr: ${r.err()}`);
    expect(r.err()).toContain(`${LOCAL_IMAGES.mlflow}: waiting for another build-images (pid `); // the holder's, from the lock
    await Bun.sleep(500);
    expect(r.exited()).toBe(false); // still waiting
    process.kill(-h.pid!, "SIGKILL"); // a crashed builder: its flock goes with it
    expect({ code: await r.code, err: r.err() }).toMatchObject({ code: 0 });
    expect(r.err()).toContain(`${LOCAL_IMAGES.mlflow}: exists (use --force to rebuild)`);
    expect(existsSync(join(cache, "bookworm-python-minbase.tar"))).toBe(false); // no base rootfs made
  }, 60_000);

  test.skipIf(!!why)("--force that waited uses the image the other run made meanwhile instead of building again", async () => {
    const tag = `locktest-${process.pid}`;
    const image = `e2e-local/mlflow:${tag}`;
    try {
      const h = await holder(image);
      const r = run(["--force", "mlflow"], { E2E_MLFLOW_VERSION: tag });
      await until(() => r.err().includes("waiting for another build-images"), `a wait message; stderr: ${r.err()}`);
      // The other run's result: the tag appears (a new name for the existing stand-in), then its lock goes.
      expect(spawnSync("docker", ["tag", LOCAL_IMAGES.mlflow, image]).status).toBe(0);
      process.kill(-h.pid!, "SIGTERM");
      expect({ code: await r.code, err: r.err() }).toMatchObject({ code: 0 });
      expect(r.err()).toContain(`${image}: made by the other build-images while this one waited; using it`);
      expect((await readdir(cache)).filter((f) => f.endsWith(".tar"))).toEqual([]);
    } finally {
      spawnSync("docker", ["rmi", image], { stdio: "ignore" }); // only the extra tag goes
    }
  }, 60_000);
});
