/**
 * `e2e bench --url --backend wandb|clearml` against the TEST DOUBLES of those servers
 * (tests/doubles/: no W&B or ClearML server can run here). The bench completes, reports the API
 * latency, logging and fleet figures with their sample counts, says in the environment block that
 * it measured a test double, and leaves nothing behind (the double's own state: no project, run,
 * task or file of the bench's remains); a refused key stops it with one line and exit 4; the key
 * appears in no output or report file. A set-up create answered 503 (a proxy double in front of the
 * double injects it) is sent again or found by its name: one object made, the retry listed. No
 * timing is asserted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startClearmlDouble } from "../doubles/clearml-server-double.ts";
import { startWandbDouble } from "../doubles/wandb-server-double.ts";
import { startProxyDouble } from "../doubles/proxy-double.ts";
import { validateAgainst } from "../schema.ts";
import { e2eCommand, runE2E } from "../helpers.ts";

const work = mkdtempSync(join(tmpdir(), "e2e-bench-url-doubles-"));
const env: Record<string, string> = {};
{
  const [cmd, ...pre] = e2eCommand();
  // A binary built before this feature: run the source instead.
  if (spawnSync(cmd!, [...pre, "bench", "--help"], { encoding: "utf8" }).stdout?.includes("--api-key-file") !== true) env.E2E_TEST_FROM_SOURCE = "1";
}
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Fig { target: string; name: string; unit: string; samples: number; lowSamples?: boolean; lowSamplesWhy?: string; value: number; params: Record<string, unknown> }

/** Runs the bench with every report written; returns the document and all the text it produced. */
async function bench(args: string[], extraEnv: Record<string, string>, name: string) {
  const files = { report: join(work, `${name}.json`), html: join(work, `${name}.html`), markdown: join(work, `${name}.md`) };
  const ran = await runE2E(["bench", ...args, "--quick", "--jobs", "2", "--duration", "6", "--json", "--report", files.report, "--html", files.html, "--markdown", files.markdown], { env: { ...env, ...extraEnv }, timeoutMs: 590_000 });
  const texts = [ran.stdout, ran.stderr, ...Object.values(files).map((f) => { try { return readFileSync(f, "utf8"); } catch { return ""; } })];
  return { ran, texts };
}

function commonFigures(doc: { figures: Fig[]; fleet: { target: string; steps: unknown[] }[]; errors: unknown[] }, target: string, names: string[]) {
  expect(doc.errors).toEqual([]);
  const mine = doc.figures.filter((f) => f.target === target);
  for (const n of names) expect(mine.some((f) => f.name === n)).toBe(true);
  // Every latency rests on its samples: 1000 or more, or flagged with the reason.
  for (const f of mine.filter((x) => x.unit === "ms")) expect(f.samples >= 1000 || (f.lowSamples === true && !!f.lowSamplesWhy)).toBe(true);
  for (const f of mine.filter((x) => x.name.endsWith(".latency"))) expect(f.samples).toBeGreaterThan(1);
  expect(new Set(mine.filter((f) => f.name.endsWith(".latency") && f.params.batch !== undefined).map((f) => f.params.batch))).toEqual(new Set([1, 10, 100, 1000]));
  expect(doc.fleet.map((f) => f.target)).toEqual([target]);
  expect(doc.fleet[0]!.steps.length).toBeGreaterThan(0);
}

/** stderr, the HTML and the Markdown report each say the figures measure a test double. */
function saysDouble(texts: string[]) {
  const [, stderr, , html, markdown] = texts;
  for (const t of [stderr, html, markdown]) expect(t).toContain("test double");
}

describe("e2e bench --url against the W&B test double", () => {
  test("measures it, says it measured a double, removes every run and the project, never shows the key", async () => {
    const key = `wandb-bench-key-${Math.random().toString(36).slice(2)}`;
    const w = startWandbDouble({ apiKey: key, serverVersion: "0.70.0" });
    try {
      const { ran, texts } = await bench(["--url", w.url, "--backend", "wandb"], { WANDB_API_KEY: key }, "wandb");
      expect(ran.stderr).not.toContain("Traceback");
      expect(ran.code).toBe(0);
      const doc = JSON.parse(ran.stdout);
      expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
      expect(doc.environment.servers[0]).toMatchObject({ target: "wandb-url", version: "0.70.0", testDouble: true, workersVisible: false });
      expect(doc.environment.servers[0].store).toContain("test double");
      saysDouble(texts);
      commonFigures(doc, "wandb-url", ["api.upsert_bucket.latency", "http.file_stream.latency", "http.file_stream.throughput", "api.create_run_files.latency", "http.artifact.upload", "http.artifact.download"]);
      // The history reached the double through file_stream; then everything went.
      expect(w.streamed).toBeGreaterThan(1000);
      expect(w.runs.filter((r) => r.project.startsWith("e2e-bench-"))).toEqual([]);
      expect([...w.projects.keys()].filter((k) => k.includes("e2e-bench-"))).toEqual([]);
      expect(doc.cleanup).toMatchObject({ experiments: 1, failures: [] });
      expect(doc.cleanup.runs).toBeGreaterThanOrEqual(8); // probe, config, 4 log runs, files, artifacts, jobs
      for (const t of texts) {
        expect(t).not.toContain(key);
        expect(t).not.toContain(btoa(`api:${key}`));
      }
    } finally {
      w.stop();
    }
  }, 600_000);

  test("a set-up UpsertBucket answered 503 is sent again: the run made once (upsert by name), each retry listed", async () => {
    const key = `wandb-bench-key-${Math.random().toString(36).slice(2)}`;
    const w = startWandbDouble({ apiKey: key });
    // The probe's answer lost before the server (not made); job-0's after it (made, then 503).
    const proxy = startProxyDouble({ target: w.url, passAuth: true, faults: [
      { path: "/graphql", bodyIncludes: '"name":"probe"', nth: 1, forward: false, status: 503, body: "upstream timed out" },
      { path: "/graphql", bodyIncludes: '"name":"job-0"', nth: 1, forward: true, status: 503, body: "upstream timed out" },
    ] });
    try {
      const ran = await runE2E(["bench", "--url", proxy.url, "--backend", "wandb", "--quick", "--jobs", "2", "--duration", "6", "--json"], { env: { ...env, WANDB_API_KEY: key }, timeoutMs: 590_000 });
      expect(ran.code).toBe(0);
      const doc = JSON.parse(ran.stdout);
      expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
      expect(doc.errors).toEqual([]);
      expect(doc.retries.map((r: { what: string; attempt: number; message: string }) => [r.what, r.attempt, r.message])).toEqual([
        ["UpsertBucket probe", 1, "HTTP 503: upstream timed out"],
        ["UpsertBucket job-0", 1, "HTTP 503: upstream timed out"],
      ]);
      // Sent twice, made once: UpsertBucket updates the run of that name.
      expect(proxy.requests.filter((r) => r.path === "/graphql" && r.body?.includes('"name":"job-0"'))).toHaveLength(2);
      expect(w.inserted.filter((x) => x.endsWith("/job-0"))).toHaveLength(1);
      expect(w.inserted.filter((x) => x.endsWith("/probe"))).toHaveLength(1);
      expect(w.runs.filter((r) => r.project.startsWith("e2e-bench-"))).toEqual([]);
      expect(doc.cleanup.failures).toEqual([]);
    } finally {
      proxy.stop();
      w.stop();
    }
  }, 600_000);

  test("a refused key: one line naming the fix, exit 4, before any load", async () => {
    const w = startWandbDouble({ apiKey: "the-right-key" });
    try {
      const wrong = `wrong-wandb-key-${Math.random().toString(36).slice(2)}`;
      const r = await runE2E(["bench", "--url", w.url, "--backend", "wandb", "--quick"], { env: { ...env, WANDB_API_KEY: wrong }, timeoutMs: 60_000 });
      expect(r.code).toBe(4);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("rejected the credentials (HTTP 401)");
      expect(r.stderr).toContain("WANDB_API_KEY");
      expect(r.stderr).not.toContain(wrong);
      expect(r.stdout).toBe("");
      expect(w.ops.filter((o) => o === "UpsertBucket")).toEqual([]);
      // The same from --api-key-file (no key in the environment): the file's key is the one sent.
      const keyFile = join(work, "wandb.key");
      writeFileSync(keyFile, `${wrong}\n`);
      const f = await runE2E(["bench", "--url", w.url, "--backend", "wandb", "--quick", "--api-key-file", keyFile], { env: { ...env, WANDB_API_KEY: "" }, timeoutMs: 60_000 });
      expect(f.code).toBe(4);
      expect(f.stderr).toContain("rejected the credentials (HTTP 401)");
      expect(f.stderr).not.toContain(wrong);
    } finally {
      w.stop();
    }
  }, 100_000);
});

describe("e2e bench --url against the ClearML test double", () => {
  test("measures it, says it measured a double, deletes tasks, project and files, never shows the keys", async () => {
    const access = `ACCESS${Math.random().toString(36).slice(2).toUpperCase()}`;
    const secret = `clearml-secret-${Math.random().toString(36).slice(2)}`;
    const c = startClearmlDouble({ accessKey: access, secretKey: secret, serverVersion: "2.0.0" });
    try {
      const { ran, texts } = await bench(["--url", c.api, "--backend", "clearml"], { CLEARML_API_ACCESS_KEY: access, CLEARML_API_SECRET_KEY: secret, CLEARML_FILES_HOST: c.files }, "clearml");
      expect(ran.stderr).not.toContain("Traceback");
      expect(ran.code).toBe(0);
      const doc = JSON.parse(ran.stdout);
      expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
      expect(doc.environment.servers[0]).toMatchObject({ target: "clearml-url", version: "2.0.0", testDouble: true });
      expect(doc.environment.servers[0].store).toContain("test double");
      saysDouble(texts);
      commonFigures(doc, "clearml-url", ["api.tasks_create.latency", "http.events_add_batch.latency", "http.events_add_batch.throughput", "api.tasks_get_by_id.latency", "http.artifact.upload", "http.artifact.download"]);
      expect(c.calls.filter((x) => x === "events.add_batch").length).toBeGreaterThan(1000);
      // What the double holds now: none of the bench's tasks, projects or files.
      expect(c.tasks).toEqual([]);
      expect([...c.projects.values()]).toEqual([]);
      expect([...c.fileStore.keys()]).toEqual([]);
      expect(doc.cleanup).toMatchObject({ experiments: 1, failures: [] });
      expect(doc.cleanup.runs).toBeGreaterThan(4);
      expect(doc.cleanup.artifacts).toBeGreaterThan(0);
      for (const t of texts) {
        expect(t).not.toContain(secret);
        expect(t).not.toContain(access);
      }
    } finally {
      c.stop();
    }
  }, 600_000);

  test("a set-up create answered 503 after it took effect is found by its name, not made again; each retry listed", async () => {
    const c = startClearmlDouble({ accessKey: "A1", secretKey: "s1" });
    const gateway = { forward: true, nth: 1, status: 503, body: "upstream timed out" };
    const proxy = startProxyDouble({ target: c.api, passAuth: true, faults: [{ path: "/projects.create", ...gateway }, { path: "/tasks.create", bodyIncludes: '"name":"job-0"', ...gateway }] });
    try {
      const ran = await runE2E(["bench", "--url", proxy.url, "--backend", "clearml", "--quick", "--jobs", "2", "--duration", "6", "--json"], { env: { ...env, CLEARML_API_ACCESS_KEY: "A1", CLEARML_API_SECRET_KEY: "s1", CLEARML_FILES_HOST: c.files }, timeoutMs: 590_000 });
      expect(ran.code).toBe(0);
      const doc = JSON.parse(ran.stdout);
      expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
      expect(doc.errors).toEqual([]);
      expect(doc.retries.map((r: { what: string; attempt: number; message: string }) => [r.what.replace(/-[0-9a-f]{6}$/, ""), r.attempt, r.message])).toEqual([
        ["projects.create e2e-bench", 1, "HTTP 503: upstream timed out"],
        ["tasks.create job-0", 1, "HTTP 503: upstream timed out"],
      ]);
      // Each create sent once and made once: the look-up found what the failed attempt made.
      expect(c.created.filter((x) => x.startsWith("projects.create "))).toHaveLength(1);
      expect(c.created.filter((x) => x === "tasks.create job-0")).toHaveLength(1);
      expect(proxy.requests.filter((r) => r.path === "/tasks.create" && r.body?.includes('"name":"job-0"'))).toHaveLength(1);
      expect(proxy.requests.filter((r) => r.path === "/projects.get_all")).toHaveLength(1);
      expect(c.tasks).toEqual([]);
      expect([...c.projects.values()]).toEqual([]);
      expect(doc.cleanup).toMatchObject({ experiments: 1, failures: [] });
    } finally {
      proxy.stop();
      c.stop();
    }
  }, 600_000);

  test("refused keys: one line naming the fix, exit 4, nothing created", async () => {
    const c = startClearmlDouble({ accessKey: "RIGHT", secretKey: "right-secret" });
    try {
      const r = await runE2E(["bench", "--url", c.api, "--backend", "clearml", "--quick"], { env: { ...env, CLEARML_API_ACCESS_KEY: "RIGHT", CLEARML_API_SECRET_KEY: "wrong-clearml-secret", CLEARML_FILES_HOST: c.files }, timeoutMs: 60_000 });
      expect(r.code).toBe(4);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("rejected the credentials (HTTP 401)");
      expect(r.stderr).toContain("CLEARML_API_SECRET_KEY");
      expect(r.stderr).not.toContain("wrong-clearml-secret");
      expect(r.stdout).toBe("");
      expect(c.calls.filter((x) => x.startsWith("projects.") || x.startsWith("tasks."))).toEqual([]);
    } finally {
      c.stop();
    }
  }, 70_000);
});
