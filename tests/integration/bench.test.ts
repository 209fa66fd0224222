/**
 * `e2e bench --quick` for real (loopback sink, MLflow native and, where Docker and the images
 * are here, docker; W&B and ClearML offline): it runs, its JSON validates against the schema,
 * every figure is in a plausible range for its unit (no timing is asserted), the reports are
 * written, the HTML renders in headless chromium, and a baseline regression exits non-zero.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateAgainst } from "../schema.ts";
import { e2eCommand, processesWithEnv, runE2E, setupPython } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "e2e-bench-test-"));
const out = (f: string) => join(dir, f);
// This run's work folders, and the mark its processes carry: other e2e runs on the machine (a
// user's, a second test file's) must not count as this run's leftovers, nor hide them.
const work = join(dir, "tmp");
mkdirSync(work);
// The compiled binary only knows `bench` once rebuilt: run the source when it does not.
const env: Record<string, string> = { E2E_TMPDIR: work };

function dockerReady(): string | undefined {
  const info = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 20_000 });
  if (info.status !== 0) return "docker engine not running";
  const images = spawnSync("docker", ["images", "-q", "e2e-local/mlflow:3.17.2"], { encoding: "utf8" }).stdout.trim();
  const pg = spawnSync("docker", ["images", "-q", "e2e-local/postgres:15"], { encoding: "utf8" }).stdout.trim();
  if (!images || !pg) return "images e2e-local/mlflow:3.17.2 and e2e-local/postgres:15 absent";
  env.E2E_MLFLOW_IMAGE = "e2e-local/mlflow:3.17.2";
  env.E2E_POSTGRES_IMAGE = "e2e-local/postgres:15";
  return undefined;
}

let doc: any;
let ran: { code: number; stdout: string; stderr: string };
const noDocker = dockerReady();
const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

beforeAll(async () => {
  setupPython();
  const [cmd, ...pre] = e2eCommand();
  if (spawnSync(cmd!, [...pre, "bench", "--help"], { encoding: "utf8" }).status !== 0) process.env.E2E_TEST_FROM_SOURCE = env.E2E_TEST_FROM_SOURCE = "1";
  if (noDocker) console.warn(`bench test: MLflow docker mode skipped: ${noDocker}`);
  const mode = noDocker ? "native" : "native,docker";
  ran = await runE2E(["bench", "--quick", "--mode", mode, "--json", "--report", out("r.json"), "--html", out("r.html"), "--markdown", out("r.md"), "--gh-bench", out("gh.json")], { env, timeoutMs: 590_000 });
  doc = JSON.parse(ran.stdout || "null");
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RANGES: Record<string, [number, number]> = {
  ms: [0, 600_000],
  "points/s": [0.01, 1e9],
  "requests/s": [0.01, 1e7],
  "MB/s": [0.001, 1e5],
  bytes: [2 ** 20, 2 ** 36],
  ratio: [0.2, 1e4],
  clients: [0, 1024],
  count: [0, 1e7],
};

describe("e2e bench --quick", () => {
  test("runs, prints one JSON document that validates, and leaves nothing behind", async () => {
    expect(ran.stderr).not.toContain("Traceback");
    expect(ran.code).toBe(0);
    expect(doc.status).toBe("complete");
    expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
    expect(doc.errors).toEqual([]);
    expect(doc.environment.mlflowWorkers).toBe(1);
    expect(doc.environment.servers.every((s: { workers: number }) => s.workers === 1)).toBe(true);
    expect(ran.stderr).toMatch(/estimated \d+ (s|min)/);
    expect(JSON.parse(readFileSync(out("r.json"), "utf8")).status).toBe("complete");
    // Servers, the sink, the SDK benches: every process this run started inherited its E2E_TMPDIR.
    expect(processesWithEnv("E2E_TMPDIR", work)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
    for (const s of doc.environment.servers.filter((x: { project?: string }) => x.project))
      expect(spawnSync("docker", ["ps", "-aq", "--filter", `name=${s.project}`], { encoding: "utf8" }).stdout.trim()).toBe("");
  }, 30_000);

  test("every target and kind of figure is there, each in a plausible range for its unit", () => {
    const targets = new Set(doc.figures.map((f: { target: string }) => f.target));
    for (const t of ["harness", "mlflow-native", "wandb-offline", "clearml-offline", "python-baseline", ...(noDocker ? [] : ["mlflow-docker"])]) expect(targets).toContain(t);
    const names = new Set(doc.figures.map((f: { name: string }) => f.name));
    for (const n of ["http.log_batch.latency", "http.log_batch.throughput", "http.artifact.upload", "http.artifact.download", "api.get_history.latency", "api.get_run.latency", "api.search_runs.latency", "sdk.log_step.latency", "sdk.train_step.overhead", "memory.training.peak_rss", "memory.server.peak_rss", "scale.knee.clients"])
      expect(names).toContain(n);
    for (const f of doc.figures) {
      const [lo, hi] = RANGES[f.unit]!;
      const label = `${f.id} = ${f.value} ${f.unit}`;
      expect(f.value >= lo && f.value <= hi ? label : `${label} out of [${lo}, ${hi}]`).toBe(label);
      expect(f.spread.min).toBeLessThanOrEqual(f.spread.p50);
      expect(f.spread.p50).toBeLessThanOrEqual(f.spread.p99);
      expect(f.spread.p99).toBeLessThanOrEqual(f.spread.max);
    }
    const mlflowMs = doc.figures.filter((f: { name: string; target: string }) => f.name === "http.log_batch.latency" && f.target === "mlflow-native");
    // 1000 samples each, or the figure says why not (its time cap ended it first).
    for (const f of mlflowMs) expect(f.samples >= 1000 || (f.lowSamples && /fit the \d+ s cap/.test(f.lowSamplesWhy))).toBe(true);
    for (const s of doc.scalability) expect(s.knee ? s.knee.clients > 0 : /^the first step \(1 client\) already failed/.test(s.noKnee.why)).toBe(true);
    // Every sample kept and an interval for every headline resting on more than one.
    for (const f of doc.figures.filter((x: { samples: number; unit: string }) => x.samples > 1 && x.unit === "ms")) {
      expect(f.ci.method).toBe("order-statistic");
      expect(f.ci.lo <= f.value && f.value <= f.ci.hi).toBe(true);
    }
    for (const f of doc.figures.filter((x: { lowSamples?: boolean; unit: string }) => x.lowSamples && x.unit === "ms")) expect(f.samples).toBeLessThan(1000);
    // The fleet load ran on MLflow, every step with its figures.
    const fleet = doc.fleet.find((s: { target: string }) => s.target === "mlflow-native");
    expect(fleet.steps.length).toBeGreaterThan(0);
    expect(fleet.steps[0].jobs).toBe(1);
    // A knee, or (on a loaded machine, where one job already falls behind) none, said so: never
    // a knee of 0 points/s.
    for (const s of doc.fleet) {
      const figs = doc.figures.filter((f: { target: string; name: string; params: { workers?: number } }) => f.target === s.target && f.name.startsWith("fleet.knee.") && f.params.workers === s.workers);
      if (s.knee === null) {
        const first = s.steps[0];
        expect(s.noKnee.why).toMatch(/^the first step \(1 job\) already crossed the (p99|error) threshold/);
        expect(s.steps).toHaveLength(1);
        expect(first.p99Ms > s.plan.p99LimitMs || first.errorRate > s.plan.errorRateLimit).toBe(true);
        expect(figs.map((f: { name: string; value: number }) => [f.name, f.value])).toEqual([["fleet.knee.jobs", 0]]);
      } else {
        expect(s.knee.reason).toMatch(/^(p99|errors|plateau|max-jobs|time-budget)$/);
        expect(s.knee.jobs).toBeGreaterThan(0);
        expect(figs.map((f: { name: string }) => f.name).sort()).toEqual(["fleet.knee.jobs", "fleet.knee.throughput"]);
      }
    }
    expect(doc.ratios.some((r: { denominator: string }) => r.denominator.startsWith("harness/"))).toBe(true);
    expect(doc.ratios.some((r: { numerator: string }) => r.numerator.startsWith("wandb-offline/sdk."))).toBe(true);
  }, 10_000);

  test("markdown and github-action-benchmark files are written", () => {
    expect(readFileSync(out("r.md"), "utf8")).toContain("| mlflow-native | http.log_batch.latency |");
    const smaller = JSON.parse(readFileSync(out("gh.json"), "utf8"));
    const bigger = JSON.parse(readFileSync(out("gh-bigger.json"), "utf8"));
    expect(smaller.length).toBeGreaterThan(0);
    expect(bigger.length).toBeGreaterThan(0);
    for (const e of [...smaller, ...bigger]) expect(Object.keys(e).sort()).toEqual(["extra", "name", "range", "unit", "value"]);
    expect(smaller.every((e: { unit: string }) => e.unit !== "points/s")).toBe(true);
  }, 10_000);

  test.skipIf(!chromium)(`the HTML report renders in headless chromium with its charts${chromium ? "" : " (skipped: no chromium; apt-get install -y chromium)"}`, () => {
    const html = readFileSync(out("r.html"), "utf8");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const profile = mkdtempSync(join(tmpdir(), "e2e-chromium-"));
    try {
      const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", `--user-data-dir=${profile}`];
      const dom = spawnSync(chromium!, [...flags, "--dump-dom", `file://${out("r.html")}`], { encoding: "utf8", timeout: 60_000 });
      expect(dom.status).toBe(0);
      const charts = dom.stdout.match(/<figure class="chart" data-chart="[^"]+">/g) ?? [];
      expect(charts.length).toBeGreaterThanOrEqual(7);
      for (const id of ["log-batch-throughput", "history-latency", "overhead", "scalability", "sdk-latency", "fleet-throughput", "fleet-latency"]) expect(dom.stdout).toContain(`data-chart="${id}"`);
      expect((dom.stdout.match(/<path d="M/g) ?? []).length).toBeGreaterThan(3);
      const shot = spawnSync(chromium!, [...flags, `--screenshot=${out("r.png")}`, "--window-size=1200,2400", `file://${out("r.html")}`], { encoding: "utf8", timeout: 60_000 });
      expect(shot.status).toBe(0);
      expect(readFileSync(out("r.png")).length).toBeGreaterThan(20_000);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  }, 150_000);
});

describe("e2e bench --baseline", () => {
  test("malformed baseline: one line, exit 2, before anything starts", async () => {
    writeFileSync(out("bad.json"), "{ not json");
    const r = await runE2E(["bench", "--quick", "--baseline", out("bad.json"), "--max-regression", "10%"], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("not valid JSON");
    expect(r.stdout).toBe("");
  }, 70_000);

  test("a figure worse than the baseline beyond the threshold: exit 1, naming it", async () => {
    const id = "harness/http.log_batch.throughput[batch=1]";
    const fig = doc.figures.find((f: { id: string }) => f.id === id);
    writeFileSync(out("base.json"), JSON.stringify({ ...doc, figures: [{ ...fig, value: fig.value * 1000 }] }));
    // A temp root of its own: another e2e on the machine (or one killed earlier) has folders of its own.
    const root = mkdtempSync(join(dir, "tmp-"));
    const r = await runE2E(["bench", "--quick", "--backend", "wandb", "--baseline", out("base.json"), "--max-regression", "10%", "--report", out("b.json")], { env: { ...env, E2E_TMPDIR: root }, timeoutMs: 300_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`e2e: error: 1 figure regressed beyond 10%: ${id}`);
    const b = JSON.parse(readFileSync(out("b.json"), "utf8"));
    expect(b.comparison.regressions.map((x: { id: string }) => x.id)).toEqual([id]);
    expect(readdirSync(root)).toEqual([]);
  }, 310_000);
});
