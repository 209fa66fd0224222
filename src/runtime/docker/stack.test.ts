/**
 * Integration tests on a real engine with the local stand-in images
 * (assets/docker/build-images.sh). Skipped, with the reason in the names, when either is missing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseCompose, type StackDef } from "./compose.ts";
import { loadEmbeddedStack } from "./embedded.ts";
import { MissingImagesError } from "./images.ts";
import { listSessions, reap, removeSession } from "./reaper.ts";
import { newSession, type Session } from "./session.ts";
import { StackStartError, up } from "./stack.ts";
import { dockerTestEnv, LOCAL_IMAGES, NOTHING, sessionResources } from "./testing.ts";

const env = await dockerTestEnv();
const TIMEOUT = 300_000;
const skip = !!env.skip;
const suffix = skip ? ` (SKIPPED: ${env.skip})` : "";
const docker = () => env.engine!.docker;
const sessions: Session[] = [];
const session = () => {
  const s = newSession();
  sessions.push(s);
  return s;
};

afterAll(async () => {
  if (!env.engine) return;
  for (const s of sessions) await removeSession(docker(), s.id).catch(() => undefined);
});

/** A one-service stack on the local postgres image: quick to start, has a shell. */
function dbStack(service = "", healthTest = '["CMD-SHELL", "pg_isready -q -h 127.0.0.1"]', startPeriod = "30s"): StackDef {
  return parseCompose(
    `name: t
services:
  db:
    image: ${LOCAL_IMAGES.postgres}
    environment:
      POSTGRES_PASSWORD: test
    ports: ["127.0.0.1::5432"]
    volumes: ["data:/var/lib/postgresql/data"]
    healthcheck:
      test: ${healthTest}
      interval: 1s
      timeout: 3s
      retries: 2
      start_period: ${startPeriod}
${service}
volumes:
  data:
`,
    { file: "t.yml", env: {} },
  );
}

describe(`MLflow stack on a real engine${suffix}`, () => {
  test.skipIf(skip)("comes up, answers /health and REST through the published port, and goes without a trace", async () => {
    const s = session();
    const stack = loadEmbeddedStack("mlflow", { E2E_MLFLOW_IMAGE: LOCAL_IMAGES.mlflow, E2E_POSTGRES_IMAGE: LOCAL_IMAGES.postgres });
    const progress: string[] = [];
    const started = await up(env.engine!, stack, { session: s, timeoutMs: 240_000, onProgress: (l) => progress.push(l) });
    try {
      expect(progress).toContain("postgres: started (e2e-local/postgres:15)");
      expect(progress.indexOf("postgres: started (e2e-local/postgres:15)")).toBeLessThan(progress.findIndex((l) => l.startsWith("mlflow: started")));
      const base = started.services.mlflow!.url(5000);
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      // The port is bound to loopback only.
      const info = await docker().getContainer(started.services.mlflow!.containerId).inspect();
      expect(info.NetworkSettings.Ports["5000/tcp"]!.map((b) => b.HostIp)).toEqual(["127.0.0.1"]);
      expect(info.Config.Labels["e2e.session"]).toBe(s.id);
      expect(info.Config.Labels["e2e.stack"]).toBe("mlflow");

      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect((await health.text()).trim()).toBe("OK");

      const name = `e2e-docker-${s.id}`;
      const created = await fetch(`${base}/api/2.0/mlflow/experiments/create`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      expect(created.status).toBe(200);
      const { experiment_id } = (await created.json()) as { experiment_id: string };
      const got = (await (await fetch(`${base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`)).json()) as {
        experiment: { experiment_id: string; artifact_location: string };
      };
      expect(got.experiment.experiment_id).toBe(experiment_id);
      expect(got.experiment.artifact_location).toStartWith("mlflow-artifacts:");

      // Served artifacts land on the named volume, and read back.
      const path = `${experiment_id}/probe/hello.txt`;
      const put = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${path}`, { method: "PUT", body: "hello artifacts\n" });
      expect(put.status).toBe(200);
      expect(await (await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${path}`)).text()).toBe("hello artifacts\n");

      const stats = await started.stats();
      expect(stats.map((x) => x.service).sort()).toEqual(["mlflow", "postgres"]);
      for (const x of stats) expect(x.memoryBytes).toBeGreaterThan(0);
    } finally {
      const removed = await started.down();
      expect(removed.errors).toEqual([]);
    }
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);
});

describe(`start-up faults leave nothing behind${suffix}`, () => {
  test.skipIf(skip)("a container that exits: the error names it and carries its last log lines", async () => {
    const s = session();
    const stack = dbStack(`  app:
    image: ${LOCAL_IMAGES.postgres}
    entrypoint: ["sh", "-c", "echo boom-marker-1; echo boom-marker-2 >&2; exit 3"]
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "true"]
`);
    const err = await up(env.engine!, stack, { session: s, timeoutMs: 60_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(StackStartError);
    expect(err.service).toBe("app");
    expect(err.message).toContain("service app");
    expect(err.message).toContain("exited with code 3");
    expect(err.logs).toContain("boom-marker-1");
    expect(err.logs).toContain("boom-marker-2");
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("a container that never gets healthy", async () => {
    const s = session();
    const err = await up(env.engine!, dbStack("", '["CMD", "false"]', "0s"), { session: s, timeoutMs: 60_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(StackStartError);
    expect(err.message).toMatch(/service db .*: became unhealthy \(last health check exit 1/);
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("the start-up deadline", async () => {
    const s = session();
    const err = await up(env.engine!, dbStack("", '["CMD", "false"]'), { session: s, timeoutMs: 1500 }).catch((e) => e);
    expect(err).toBeInstanceOf(StackStartError);
    expect(err.message).toMatch(/not ready within 2 s/);
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("a host port that is taken", async () => {
    const s = session();
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const stack = dbStack();
      stack.services.db!.ports = [{ hostIp: "127.0.0.1", hostPort: server.port, containerPort: 5432, protocol: "tcp" }];
      const err = await up(env.engine!, stack, { session: s, timeoutMs: 60_000 }).catch((e) => e);
      expect(err).toBeInstanceOf(StackStartError);
      expect(err.message).toContain(`host port 127.0.0.1:${server.port} is taken`);
    } finally {
      server.stop(true);
    }
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("a missing image is reported before anything is created", async () => {
    const s = session();
    const stack = dbStack();
    stack.services.db!.image = "e2e-test/not-here:0";
    const err = await up(env.engine!, stack, { session: s }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingImagesError);
    expect(err.images).toEqual(["e2e-test/not-here:0"]);
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("an abort (Ctrl-C) during start-up", async () => {
    const s = session();
    const ac = new AbortController();
    const stack = dbStack("", '["CMD-SHELL", "sleep 1; false"]');
    stack.services.db!.healthcheck!.retries = 100;
    const err = await up(env.engine!, stack, {
      session: s,
      signal: ac.signal,
      onProgress: (l) => {
        if (l.startsWith("db: started")) setTimeout(() => ac.abort(new Error("interrupted (SIGINT)")), 200);
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("interrupted (SIGINT)");
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);
});

describe(`interrupts and disposal${suffix}`, () => {
  test.skipIf(skip)("SIGINT to a process during start-up: it removes what it created and exits", async () => {
    const s = newSession();
    sessions.push(s);
    const code = `
      import { parseCompose } from ${JSON.stringify(join(import.meta.dir, "compose.ts"))};
      import { up } from ${JSON.stringify(join(import.meta.dir, "stack.ts"))};
      import { findEngine } from ${JSON.stringify(join(import.meta.dir, "engine.ts"))};
      import { installSignalHandlers, onInterrupt } from ${JSON.stringify(join(import.meta.dir, "..", "lifecycle.ts"))};
      import { InterruptedError, signalExitCode } from ${JSON.stringify(join(import.meta.dir, "..", "..", "util", "errors.ts"))};
      const stack = parseCompose(${JSON.stringify(`services:\n  db:\n    image: ${LOCAL_IMAGES.postgres}\n    environment: {POSTGRES_PASSWORD: x}\n    volumes: ["d:/var/lib/postgresql/data"]\n    healthcheck:\n      test: ["CMD", "false"]\n      interval: 1s\n      retries: 100\nvolumes:\n  d:\n`)}, { file: "child.yml", env: {} });
      const session = { id: ${JSON.stringify(s.id)}, pid: process.pid, host: ${JSON.stringify(s.host)} };
      const engine = await findEngine();
      try {
        // e2e's own path (lifecycle.ts): the signal aborts the start-up; this child exits itself once up() has cleaned up.
        installSignalHandlers((() => {}) as never);
        const ac = new AbortController();
        onInterrupt((sig) => ac.abort(new InterruptedError(sig)));
        await up(engine, stack, { session, signal: ac.signal, reap: false, onProgress: (l) => console.log(l) });
      } catch (e) {
        console.log("FAILED " + e.message);
        process.exit(signalExitCode("SIGINT"));
      }
    `;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    let out = "";
    while (!out.includes("db: started")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("db: started");
    expect((await sessionResources(docker(), s.id)).containers.length).toBe(1);
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(await child.exited).toBe(130);
    expect(out).toContain("FAILED interrupted by SIGINT");
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("await using: leaving the scope downs the stack", async () => {
    const s = session();
    {
      await using started = await up(env.engine!, dbStack(), { session: s, reap: false, timeoutMs: 60_000 });
      expect((await sessionResources(docker(), s.id)).containers).toEqual([`/${started.services.db!.containerName}`]);
      const port = started.services.db!.hostPort(5432);
      expect(port).toBeGreaterThan(0);
      expect(() => started.services.db!.hostPort(9999)).toThrow(/not published/);
    }
    expect(await sessionResources(docker(), s.id)).toEqual(NOTHING);
  }, TIMEOUT);
});

describe(`reaper${suffix}`, () => {
  test.skipIf(skip)("removes a stack whose owner was killed, and spares one whose owner lives", async () => {
    // A separate process brings a stack up and is killed with SIGKILL: no cleanup can run.
    const dead = newSession();
    sessions.push(dead);
    const code = `
      import { parseCompose } from ${JSON.stringify(join(import.meta.dir, "compose.ts"))};
      import { up } from ${JSON.stringify(join(import.meta.dir, "stack.ts"))};
      import { findEngine } from ${JSON.stringify(join(import.meta.dir, "engine.ts"))};
      const stack = parseCompose(${JSON.stringify(`services:\n  db:\n    image: ${LOCAL_IMAGES.postgres}\n    environment: {POSTGRES_PASSWORD: x}\n    volumes: ["d:/var/lib/postgresql/data"]\nvolumes:\n  d:\n`)}, { file: "child.yml", env: {} });
      const session = { id: ${JSON.stringify(dead.id)}, pid: process.pid, host: ${JSON.stringify(dead.host)} };
      await up(await findEngine(), stack, { session, reap: false });
      console.log("UP");
      setInterval(() => {}, 1000);
    `;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    let out = "";
    while (!out.includes("UP")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("UP");
    const left = await sessionResources(docker(), dead.id);
    expect(left.containers.length).toBe(1);
    expect(left.volumes.length).toBe(1);
    child.kill("SIGKILL");
    await child.exited;

    // A live session (this process) with its own stack.
    const alive = session();
    const started = await up(env.engine!, dbStack(), { session: alive, reap: false, timeoutMs: 60_000 });
    try {
      const listed = await listSessions(docker());
      expect(listed.find((x) => x.id === dead.id)?.owner).toBe("dead");
      expect(listed.find((x) => x.id === alive.id)?.owner).toBe("alive");

      const report = await reap(docker());
      expect(report.sessions).toContain(dead.id);
      expect(report.sessions).not.toContain(alive.id);
      expect(report.errors).toEqual([]);
      expect(await sessionResources(docker(), dead.id)).toEqual(NOTHING);
      expect((await sessionResources(docker(), alive.id)).containers.length).toBe(1);
    } finally {
      await started.down();
    }
    expect(await sessionResources(docker(), alive.id)).toEqual(NOTHING);
  }, TIMEOUT);

  test.skipIf(skip)("up() reaps dead sessions first; kept stacks are spared", async () => {
    // Owner: a process that has already exited.
    const p = Bun.spawn(["true"]);
    await p.exited;
    const ghost: Session = { id: crypto.randomUUID(), pid: p.pid, host: newSession().host };
    const kept: Session = { id: crypto.randomUUID(), pid: p.pid, host: ghost.host };
    sessions.push(ghost, kept);
    const a = await up(env.engine!, dbStack(), { session: ghost, reap: false, timeoutMs: 60_000 });
    const k = await up(env.engine!, dbStack(), { session: kept, reap: false, keep: true, timeoutMs: 60_000 });
    expect(a.project).not.toBe(k.project);

    const mine = session();
    const progress: string[] = [];
    const started = await up(env.engine!, dbStack(), { session: mine, timeoutMs: 60_000, onProgress: (l) => progress.push(l) });
    try {
      expect(started.reaped?.sessions).toContain(ghost.id);
      expect(started.reaped?.sessions).not.toContain(kept.id);
      expect(progress[0]).toMatch(/^reaped \d+ dead session/);
      expect(await sessionResources(docker(), ghost.id)).toEqual(NOTHING);
      expect((await sessionResources(docker(), kept.id)).containers.length).toBe(1);
    } finally {
      await started.down();
      await k.down();
    }
    expect(await sessionResources(docker(), kept.id)).toEqual(NOTHING);
    expect(await sessionResources(docker(), mine.id)).toEqual(NOTHING);
  }, TIMEOUT);
});
