import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineCandidates, EngineNotFoundError, findEngine } from "./engine.ts";

describe("engine candidates", () => {
  test("DOCKER_HOST alone when set", () => {
    expect(engineCandidates({ DOCKER_HOST: "unix:///tmp/x.sock", XDG_RUNTIME_DIR: "/run/user/1" })).toEqual([
      { source: "DOCKER_HOST=unix:///tmp/x.sock", socketPath: "/tmp/x.sock" },
    ]);
    expect(engineCandidates({ DOCKER_HOST: "tcp://10.0.0.1:2375" })).toEqual([{ source: "DOCKER_HOST=tcp://10.0.0.1:2375", socketPath: undefined }]);
  });
  test("default, rootless, Podman (user), Podman (root), in that order", () => {
    expect(engineCandidates({ XDG_RUNTIME_DIR: "/run/user/1000" }).map((c) => c.socketPath)).toEqual([
      "/var/run/docker.sock",
      "/run/user/1000/docker.sock",
      "/run/user/1000/podman/podman.sock",
      "/run/podman/podman.sock",
    ]);
  });
});

describe("no engine: a one-line error naming the fix", () => {
  test("nothing at any candidate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-engine-"));
    try {
      writeFileSync(join(dir, "not-a-socket"), "");
      const err = await findEngine({
        env: {},
        candidates: [
          { source: join(dir, "missing.sock"), socketPath: join(dir, "missing.sock") },
          { source: join(dir, "not-a-socket"), socketPath: join(dir, "not-a-socket") },
        ],
        timeoutMs: 2000,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(EngineNotFoundError);
      expect(err.message).not.toContain("\n");
      expect(err.message).toStartWith("no container engine found (tried ");
      expect(err.message).toContain("start dockerd");
      expect(err.message).toContain("set DOCKER_HOST");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("DOCKER_HOST pointing nowhere", async () => {
    const err = await findEngine({ env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" }, timeoutMs: 2000 }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineNotFoundError);
    expect(err.message).not.toContain("\n");
    expect(err.message).toContain("DOCKER_HOST=unix:///nonexistent/docker.sock");
    expect(err.message).toContain("fix/unset DOCKER_HOST");
  });
  test("DOCKER_HOST over TCP with nothing listening", async () => {
    const err = await findEngine({ env: { DOCKER_HOST: "tcp://127.0.0.1:1" }, timeoutMs: 2000 }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineNotFoundError);
    expect(err.message).toMatch(/no container engine answers at DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1/);
  });
});

const root = process.getuid?.() === 0;
const sock = "/var/run/docker.sock";
const live = await findEngine({ timeoutMs: 3000 }).catch((e: Error) => e);

describe("with the engine of this machine", () => {
  test.skipIf(live instanceof Error)(`finds and pings it${live instanceof Error ? ` (SKIPPED: ${live.message})` : ""}`, async () => {
    const e = live as Exclude<typeof live, Error>;
    expect(e.version).not.toBe("?");
    expect(await e.docker.ping()).toBeTruthy();
  });

  // Root drops to nobody, who may not open root:docker 0660: the permission hint, not "not found".
  const canDrop = root && existsSync(sock) && existsSync("/usr/bin/setpriv") && !(live instanceof Error);
  // nobody must be able to read this checkout and run bun (a clone under a 0700 folder is not).
  const asNobody = (cmd: string[]) => Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...cmd], { cwd: tmpdir() });
  const readable = canDrop && asNobody(["/bin/sh", "-c", 'test -r "$0" && test -x "$1"', join(import.meta.dir, "engine.ts"), process.execPath]).exitCode === 0;
  const why = !canDrop ? "needs root, setpriv and a local engine" : !readable ? "user nobody cannot read this checkout or run bun; clone it where other users can read" : "";
  test.skipIf(!readable)(`permission denied on the socket names the fix${why ? ` (SKIPPED: ${why})` : ""}`, async () => {
    const code = `import { findEngine } from ${JSON.stringify(join(import.meta.dir, "engine.ts"))};
      findEngine({ env: { XDG_RUNTIME_DIR: "/nonexistent" }, timeoutMs: 3000 }).then((e) => console.log("found " + e.source), (e) => console.log(e.message));`;
    const p = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", code], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir() },
      cwd: tmpdir(),
    });
    const out = p.stdout.toString().trim();
    expect(out).toStartWith(`permission denied on ${sock}: add your user to the docker group`);
    expect(out.split("\n")).toHaveLength(1);
  });
});
