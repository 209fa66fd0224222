/**
 * Fault injection, each provoked for real: the harness must give a correct verdict, a clear
 * message, keep its results and leave nothing behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { e2eCommand, processesMatching, processesUnder, runE2E, setupPython } from "../helpers.ts";

const OURS_MLFLOW = "mlflow server .*/e2e-[0-9]{8}-[0-9a-f]{6}-";
let scratch = "";
let assets = "";

/** A copy of the assets whose cnn workflow is replaced by `code`. */
async function assetsWith(name: string, code: string): Promise<string> {
  const dir = join(scratch, name);
  const r = await run(["assets", "extract", dir]);
  expect(r.code).toBe(0);
  await writeFile(join(dir, "python", "workflows", "cnn.py"), code);
  return dir;
}

/**
 * Each test runs e2e with a temp root of its own (E2E_TMPDIR): its work folders and the processes
 * started under them are e2e's leftovers, whatever else runs on the machine at the same time.
 */
let root = "";
const ourLeftovers = () => [
  ...processesUnder(root),
  ...(existsSync(root) ? readdirSync(root) : []).filter((n) => /^e2e-\d{8}-[0-9a-f]{6}-/.test(n)).map((n) => `folder ${n}`),
];
/** The MLflow server this test's e2e started, and its session folder. */
const ourServer = () => processesUnder(root).find((l) => new RegExp(OURS_MLFLOW).test(l));
const workOf = (line: string) => new RegExp(`${root}/e2e-\\d{8}-[0-9a-f]{6}-\\w+`).exec(line)![0];
beforeEach(async () => {
  root = await mkdtemp(join(scratch, "tmp-"));
});
const inRoot = (env: Record<string, string> = {}) => ({ E2E_TMPDIR: root, ...env });
const run = (args: string[], opts: Parameters<typeof runE2E>[1] = {}) => runE2E(args, { ...opts, env: inRoot(opts.env) });

beforeAll(async () => {
  setupPython();
  scratch = await mkdtemp(join(tmpdir(), "e2e-faults-test-"));
  assets = scratch;
}, 1_200_000);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function spawnRun(args: string[], env: Record<string, string> = {}) {
  const [cmd, ...pre] = e2eCommand();
  const child = spawn(cmd!, [...pre, ...args], { env: { ...process.env, ...inRoot(env) } });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.on("data", (d) => (stdout += d));
  const exited = new Promise<number>((r) => child.on("exit", (c, s) => r(c ?? (s ? 128 : 1))));
  const waitFor = (re: RegExp, ms = 300_000) =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + ms;
      const t = setInterval(() => {
        if (re.test(stderr)) return clearInterval(t), resolve();
        if (Date.now() > deadline) clearInterval(t), reject(new Error(`never saw ${re}: ${stderr.slice(-500)}`));
      }, 100);
    });
  return { child, exited, waitFor, out: () => ({ stdout, stderr }) };
}

describe("the training process misbehaves", () => {
  test("exits 0 having logged nothing: failed verdict, not a pass", async () => {
    const a = await assetsWith("nothing", "print('did nothing')\n");
    const r = await run(["run", "--backend", "mlflow", "--assets", a, "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.status).toBe("failed");
    const failed = doc.backends[0].workflows[0].checks.filter((c: { status: string }) => c.status === "fail").map((c: { name: string }) => c.name);
    expect(failed).toContain("workflow.manifest");
    expect(ourLeftovers()).toEqual([]);
  }, 300_000);

  test("crashes mid-way: failed, with what arrived before the crash still verified", async () => {
    const a = await assetsWith("crash", [
      "from e2e_track import load_config, open_tracker",
      "cfg = load_config()",
      "with open_tracker(cfg) as t:",
      "    run = t.start_run('main', name=cfg['run_name'])",
      "    for s in range(1, 4):",
      "        run.log_metric('loss', 1.0 / s, step=s)",
      "    raise RuntimeError('planted crash after step 3')",
      "",
    ].join("\n"));
    const r = await run(["run", "--backend", "mlflow,wandb", "--assets", a, "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    for (const b of doc.backends) {
      const w = b.workflows[0];
      const byName = Object.fromEntries(w.checks.map((c: { name: string; status: string }) => [c.name, c.status]));
      expect(byName["workflow.exit"]).toBe("fail");
      expect(byName["metrics.loss"]).toBe("pass"); // the three points that were logged arrived
      expect(w.logTail).toContain("planted crash after step 3");
    }
  }, 300_000);

  test("hangs past its deadline: stopped, failed, nothing left", async () => {
    const a = await assetsWith("hang", "import time\nprint('hanging', flush=True)\ntime.sleep(600)\n");
    const t0 = Date.now();
    const r = await run(["run", "--backend", "mlflow", "--assets", a, "--timeout", "3", "--json"]);
    expect(Date.now() - t0).toBeLessThan(120_000);
    expect(r.code).toBe(1);
    const exit = JSON.parse(r.stdout).backends[0].workflows[0].checks.find((c: { name: string }) => c.name === "workflow.exit");
    expect(exit.status).toBe("fail");
    expect(exit.message).toContain("timed out");
    expect(processesMatching("time.sleep|hanging")).toEqual([]);
    expect(ourLeftovers()).toEqual([]);
  }, 300_000);
});

describe("the backend misbehaves", () => {
  test("MLflow killed mid-training: mlflow fails with the reason, wandb finishes, the report is written", async () => {
    const report = join(scratch, "killed.json");
    const p = spawnRun(["run", "--backend", "mlflow,wandb", "--size", "steps=300", "--report", report, "--json"]);
    await p.waitFor(/mlflow\/cnn: \d+\/300/);
    const server = ourServer()!;
    process.kill(Number(server.split(" ")[0]), "SIGKILL");
    const code = await p.exited;
    expect(code).toBe(1);
    const doc = JSON.parse(p.out().stdout);
    const mlflow = doc.backends.find((b: { backend: string }) => b.backend === "mlflow");
    const wandb = doc.backends.find((b: { backend: string }) => b.backend === "wandb");
    expect(mlflow.status).not.toBe("passed");
    expect(wandb.status).toBe("passed");
    const failed = mlflow.workflows[0].checks.filter((c: { status: string }) => c.status === "fail");
    expect(failed.length).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(report, "utf8")).backends).toHaveLength(2);
    expect(ourLeftovers()).toEqual([]);
  }, 600_000);
});

describe("signals and concurrency", () => {
  test("SIGTERM: exit 143, nothing left, the report says interrupted", async () => {
    const report = join(scratch, "terminated.json");
    const p = spawnRun(["run", "--backend", "mlflow", "--size", "steps=300", "--report", report]);
    await p.waitFor(/mlflow\/cnn: \d+\/300/);
    const work = workOf(ourServer()!);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(143);
    expect(processesUnder(work)).toEqual([]);
    expect(existsSync(work)).toBe(false);
    const doc = JSON.parse(await readFile(report, "utf8"));
    expect([doc.status, doc.exitCode]).toEqual(["interrupted", 143]);
  }, 600_000);

  test("a second Ctrl-C during cleanup does not cut it short", async () => {
    const p = spawnRun(["run", "--backend", "mlflow,wandb,clearml", "--size", "steps=300"]);
    await p.waitFor(/mlflow\/cnn: \d+\/300/);
    const work = workOf(ourServer()!);
    p.child.kill("SIGINT");
    await Bun.sleep(50);
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(130);
    expect(p.out().stderr).toContain("still cleaning up");
    expect(processesUnder(work)).toEqual([]);
    expect(existsSync(work)).toBe(false);
  }, 600_000);

  test("two runs at once on one machine do not clash", async () => {
    const [a, b] = await Promise.all([run(["run", "--backend", "mlflow", "--json"]), run(["run", "--backend", "mlflow", "--json"])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const ua = JSON.parse(a.stdout).backends[0].url;
    const ub = JSON.parse(b.stdout).backends[0].url;
    expect(ua).not.toBe(ub);
  }, 900_000);
});

describe("the machine misbehaves", () => {
  const mounted: string[] = [];
  afterAll(() => {
    for (const m of mounted) spawnSync("umount", ["-l", m]);
  });
  // A test that cannot run here is reported as skipped, never as a pass.
  const rootTest = test.skipIf(spawnSync("id", ["-u"], { encoding: "utf8" }).stdout.trim() !== "0");

  rootTest("a full disk in the work folder (needs root to mount a tmpfs): a clear error, no crash, nothing left", async () => {
    const small = join(scratch, "small");
    spawnSync("mkdir", ["-p", small]);
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]).status).toBe(0);
    mounted.push(small);
    const r = await run(["run", "--backend", "mlflow", "--json"], { env: { E2E_TMPDIR: small } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toMatch(/^\s+at .*\.ts:\d+/m); // no stack trace from e2e itself
    const text = r.stdout + r.stderr;
    expect(text).toMatch(/space|ENOSPC|disk/i);
    expect(processesUnder(small)).toEqual([]);
    expect(readdirSync(small)).toEqual([]);
  }, 600_000);

  rootTest("a read-only cache folder (needs root to mount a tmpfs): exit 3 naming the folder and the fix", async () => {
    const ro = join(scratch, "ro");
    spawnSync("mkdir", ["-p", ro]);
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]).status).toBe(0);
    mounted.push(ro);
    const r = await run(["run", "--backend", "mlflow"], { env: { E2E_CACHE_DIR: join(ro, "cache") } });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/cannot write .*ro.*E2E_CACHE_DIR/);
  }, 300_000);
});

describe("secrets", () => {
  test("a planted key never appears in stdout, stderr, reports or the work folder", async () => {
    const secret = "e2e-planted-secret-7f3a9c1d";
    const out = join(scratch, "secret");
    spawnSync("mkdir", ["-p", out]);
    const r = await runE2E(
      ["run", "--backend", "mlflow,wandb,clearml", "--json", "--keep-work", "--report", join(out, "r.json"), "--junit", join(out, "j.xml"), "--markdown", join(out, "m.md")],
      { env: { MLFLOW_TRACKING_TOKEN: secret, WANDB_API_KEY: secret, CLEARML_API_SECRET_KEY: secret } },
    );
    expect(r.code).toBe(0);
    const work = JSON.parse(r.stdout).workDir as string;
    expect(r.stdout + r.stderr).not.toContain(secret);
    const hits: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.size < 50_000_000 && readFileSync(p).includes(secret)) hits.push(p);
      }
    };
    walk(out);
    walk(work);
    await rm(work, { recursive: true, force: true });
    expect(hits).toEqual([]);
  }, 600_000);
});

describe("secrets by URL (masking registered, end to end)", () => {
  // 40 characters, the length W&B keys have; the same token for every credential.
  const secret = "e2eplantedsecret7f3a9c1d0b2e4f6a8c0d1e3f";
  const NO_OTHER = { WANDB_API_KEY: "", E2E_WANDB_API_KEY_FILE: "", CLEARML_API_ACCESS_KEY: "", CLEARML_API_SECRET_KEY: "", E2E_CLEARML_CREDENTIALS_FILE: "", MLFLOW_TRACKING_TOKEN: "" };

  /** Files under `dirs` holding the token (any file small enough to read). */
  const holding = (dirs: string[]) => {
    const hits: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        const st = statSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(p);
        else if (st.isFile() && st.size < 50_000_000 && readFileSync(p).includes(secret)) hits.push(p);
      }
    };
    for (const d of dirs) if (existsSync(d)) walk(d);
    return hits;
  };

  async function runByUrl(backend: string, url: string, env: Record<string, string>, serverDirs: string[]) {
    const out = join(scratch, `secret-url-${backend}`);
    spawnSync("mkdir", ["-p", out]);
    const r = await runE2E(
      ["run", "--backend", backend, "--url", url, "--json", "--keep-work", "--report", join(out, "r.json"), "--junit", join(out, "j.xml"), "--markdown", join(out, "m.md")],
      { env: { ...NO_OTHER, ...env }, timeoutMs: 600_000 },
    );
    const doc = JSON.parse(r.stdout);
    const work = doc.workDir as string | undefined;
    try {
      // The run reached the server with the token (a usage or environment error would not).
      expect([0, 1, 4]).toContain(r.code);
      // ...and ran the workflow with the key in its environment, so the SDK's output went
      // through the masking too.
      expect(doc.backends[0].workflows?.length ?? 0).toBeGreaterThan(0);
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(holding([out, ...(work ? [work] : []), ...serverDirs])).toEqual([]);
    } finally {
      if (work) await rm(work, { recursive: true, force: true });
    }
    return { code: r.code, doc };
  }

  test("MLflow: a real server, MLFLOW_TRACKING_TOKEN; its log too", async () => {
    const { startNativeMlflow } = await import("../../src/backends/mlflow/native.ts");
    const dir = join(scratch, "secret-mlflow-server");
    spawnSync("mkdir", ["-p", dir]);
    const srv = await startNativeMlflow({ python: setupPython(), workDir: dir });
    try {
      const { code } = await runByUrl("mlflow", srv.url, { MLFLOW_TRACKING_TOKEN: secret }, [dir]);
      expect(code).toBe(0);
    } finally {
      await srv.stop();
    }
  }, 700_000);

  test("W&B: the server double, WANDB_API_KEY", async () => {
    const { startWandbDouble } = await import("../doubles/wandb-server-double.ts");
    const double = startWandbDouble({ apiKey: secret });
    try {
      await runByUrl("wandb", double.url, { WANDB_API_KEY: secret }, []);
    } finally {
      double.stop();
    }
  }, 700_000);

  test("ClearML: the server double, CLEARML_API_SECRET_KEY", async () => {
    const { startClearmlDouble } = await import("../doubles/clearml-server-double.ts");
    const double = startClearmlDouble({ accessKey: "E2EACCESSKEY", secretKey: secret });
    try {
      await runByUrl("clearml", double.api, { CLEARML_API_ACCESS_KEY: "E2EACCESSKEY", CLEARML_API_SECRET_KEY: secret, CLEARML_FILES_HOST: double.files }, []);
    } finally {
      double.stop();
    }
  }, 700_000);
});

