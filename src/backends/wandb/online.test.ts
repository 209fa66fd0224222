/**
 * W&B by URL, against a TEST DOUBLE of the W&B server (tests/doubles/wandb-server-double.ts):
 * no W&B server can run here. Shows the GraphQL reader reads every history row across pages,
 * catches planted faults, and that the driver turns 401 / no answer into errors naming the fix.
 */
import { metricPoints } from "../../verify/series.ts";
import { afterEach, expect, test } from "bun:test";
import type { Manifest } from "../../verify/manifest.ts";
import { compareRun, looseParamEquals } from "../../verify/compare.ts";
import { E2EError } from "../../util/errors.ts";
import { scrub } from "../../util/log.ts";
import { startWandbDouble, type DoubleRun, type WandbDouble } from "../../../tests/doubles/wandb-server-double.ts";
import { ddpFixture, fixtureRun } from "../../../tests/doubles/fixture.ts";
import { verifyWorkflow } from "../../verify/verify-workflow.ts";
import { WandbGraphql } from "./graphql.ts";
import { readWandbOnlineRun } from "./online.ts";
import { wandbDriver } from "./driver.ts";
import { wandbScriptChecks } from "./script-checks.ts";
import { wandbTensorboardChecks } from "./tensorboard-capture.ts";
import { readEventFiles } from "../../verify/tensorboard.ts";
import { FIXTURES } from "../../../tests/fixtures/testutil.ts";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { freePort } from "../../util/port.ts";

const KEY = "local-0123456789abcdef0123456789abcdef01234567";
let double: WandbDouble | undefined;
afterEach(() => double?.stop());

function serverRun(f: ReturnType<typeof fixtureRun>): DoubleRun {
  const rows = new Map<number, Record<string, unknown>>();
  for (const [k, pts] of Object.entries(f.run.metrics))
    for (const [step, value, ts] of metricPoints(pts)) {
      const row = rows.get(step) ?? { step, _step: step, _timestamp: ts / 1000, _runtime: step / 10 };
      row[k] = value;
      rows.set(step, row);
    }
  return {
    entity: "e2e-user", project: "e2e-test", id: f.run.runId, displayName: f.run.name, state: "finished",
    commit: f.run.git!.commit, config: { lr: 0.001, epochs: 3, optimizer: "adam", _wandb: { cli_version: "0.31.0" } },
    rows: [...rows.values()], files: { ...f.bytes, "requirements.txt": new TextEncoder().encode("torch\n"), "wandb-metadata.json": new TextEncoder().encode("{}") },
  };
}

const python = { python: "/usr/bin/python3", kind: "user" as const, info: { executable: "/usr/bin/python3", python: "3.11.0", packages: { wandb: "0.31.0", mlflow: "3.17.2", clearml: "2.1.12" }, missing: [] } };

test("reads config, every history row over 3 pages, files by signed URL: all checks pass", async () => {
  const f = fixtureRun("abc123xy");
  double = startWandbDouble({ apiKey: KEY, runs: [serverRun(f)] });
  const gql = new WandbGraphql(double.url, KEY);
  const obs = await readWandbOnlineRun(gql, f.run, { entity: "e2e-user", project: "e2e-test" });
  expect(double.ops.filter((o) => o === "HistoryPage")).toHaveLength(3);
  expect(obs.metrics.loss).toHaveLength(f.steps);
  expect(Object.keys(obs.artifacts).sort()).toEqual(["model.pt", "plots/loss.png"]);
  const checks = compareRun(f.run, obs, { paramEquals: looseParamEquals, git: { commit: true, branch: false, dirty: false } });
  expect(checks.filter((c) => c.status === "fail")).toEqual([]);
  expect(checks.filter((c) => c.group === "metrics").every((c) => c.status === "pass")).toBe(true);
}, 30_000);

test("a sampled read would lose rows: the double thins pages asked with too few samples", async () => {
  const f = fixtureRun("abc123xy");
  double = startWandbDouble({ apiKey: KEY, runs: [serverRun(f)] });
  const rows = await new WandbGraphql(double.url, KEY).history("e2e-user", "e2e-test", "abc123xy", f.steps - 1, 1000);
  expect(rows).toHaveLength(f.steps);
  // samples below the rows in range is what a downsampled read looks like: the comparator must see it.
  const res = await fetch(`${double.url}/graphql`, { method: "POST", headers: { authorization: `Basic ${btoa(`api:${KEY}`)}` },
    body: JSON.stringify({ query: "query HistoryPage($entity: String!) { x }", variables: { entity: "e2e-user", project: "e2e-test", run: "abc123xy", minStep: 0, maxStep: 2500, pageSize: 500 } }) });
  expect(((await res.json()) as { data: { project: { run: { history: string[] } } } }).data.project.run.history).toHaveLength(500);
}, 30_000);

test("planted faults on the server (missing row, changed value, truncated file) fail exactly their checks", async () => {
  const f = fixtureRun("abc123xy");
  const r = serverRun(f);
  r.rows = r.rows.filter((row) => row._step !== 1501);
  (r.rows[7] as Record<string, unknown>).loss = 42;
  r.files["model.pt"] = r.files["model.pt"]!.slice(0, 1000);
  double = startWandbDouble({ apiKey: KEY, runs: [r] });
  const obs = await readWandbOnlineRun(new WandbGraphql(double.url, KEY), f.run, { entity: "e2e-user", project: "e2e-test" });
  const failed = compareRun(f.run, obs, { paramEquals: looseParamEquals }).filter((c) => c.status === "fail").map((c) => c.name).sort();
  expect(failed).toEqual(["artifacts.model.pt", "metrics.loss"]);
}, 30_000);

test("a checkpoint logged as a W&B Artifact is read through RunOutputArtifacts + ArtifactMembershipFiles; changed bytes fail only its check", async () => {
  const f = fixtureRun("abc123xy");
  const r = serverRun(f);
  const ckpt = r.files["model.pt"]!;
  delete r.files["model.pt"]; // the adapter logs checkpoints as Artifacts, not run files
  r.artifacts = [{ name: "abc123xy-model.pt", type: "model", versionIndex: 0, files: { "model.pt": ckpt } }];
  double = startWandbDouble({ apiKey: KEY, runs: [r] });
  const gql = new WandbGraphql(double.url, KEY);
  const obs = await readWandbOnlineRun(gql, f.run, { entity: "e2e-user", project: "e2e-test" });
  expect(double.ops).toEqual(expect.arrayContaining(["RunOutputArtifacts", "ArtifactMembershipFiles"]));
  expect((obs.extra?.artifactSource as Record<string, string>)["model.pt"]).toBe("W&B Artifact abc123xy-model.pt:v0");
  expect(compareRun(f.run, obs, { paramEquals: looseParamEquals }).filter((c) => c.status === "fail")).toEqual([]);
  double.stop();

  const bad = serverRun(f);
  delete bad.files["model.pt"];
  const flipped = new Uint8Array(ckpt);
  flipped[5] = flipped[5]! ^ 0xff;
  bad.artifacts = [{ name: "abc123xy-model.pt", type: "model", versionIndex: 0, files: { "model.pt": flipped } }];
  double = startWandbDouble({ apiKey: KEY, runs: [bad] });
  const obs2 = await readWandbOnlineRun(new WandbGraphql(double.url, KEY), f.run, { entity: "e2e-user", project: "e2e-test" });
  const failed = compareRun(f.run, obs2, { paramEquals: looseParamEquals }).filter((c) => c.status === "fail").map((c) => c.name);
  expect(failed).toEqual(["artifacts.model.pt"]);
}, 30_000);

test("--script kinds by URL: artifact entries (a reference's URI from the manifest file), media rows with their files, summaryMetrics; a changed media file or URI fails only its check", async () => {
  const f = fixtureRun("abc123xy");
  const png = new TextEncoder().encode("\x89PNG fake image bytes");
  const pngSha = createHash("sha256").update(png).digest("hex");
  const ckpt = new TextEncoder().encode("checkpoint bytes");
  const seeded = (image: Uint8Array, ref = "https://example.com/train.csv") => {
    const r = serverRun(f);
    r.rows.push({ _step: 9000, _timestamp: 1.7e9, samples: { _type: "image-file", path: "media/images/samples_9000_ab.png", sha256: pngSha, size: png.length },
      weights: { _type: "histogram", values: [1, 0, 2], bins: [0, 0.5, 1, 1.5] } });
    r.files["media/images/samples_9000_ab.png"] = image;
    r.artifacts = [{ name: "my-model", type: "model", versionIndex: 0, files: { "model.pt": ckpt }, refs: { "train.csv": ref } }];
    r.summary = { best_loss: 0.25, loss: 0.5 };
    return r;
  };
  const run = { ...f.run, wandb: {
    artifacts: [{ name: "my-model", type: "model", entries: [{ path: "model.pt", sha256: createHash("sha256").update(ckpt).digest("hex"), size: ckpt.length }, { path: "train.csv", ref: "https://example.com/train.csv" }] }],
    media: [{ key: "samples", step: 9000, type: "image-file" as const, sha256: pngSha, size: png.length }, { key: "weights", step: 9000, type: "histogram" as const, values: [1, 0, 2], bins: [0, 0.5, 1, 1.5] }],
    summary: { best_loss: 0.25 },
  } };
  const manifest: Manifest = { schema: 1, backend: "wandb", workflow: "script", environment: {}, runs: [run] };
  const verdicts = async (image: Uint8Array, ref?: string) => {
    double = startWandbDouble({ apiKey: KEY, runs: [seeded(image, ref)] });
    const obs = await readWandbOnlineRun(new WandbGraphql(double.url, KEY), run, { entity: "e2e-user", project: "e2e-test" });
    double.stop();
    return wandbScriptChecks(manifest, { [run.key]: obs }, "url").map((c) => [c.name, c.status]);
  };
  expect((await verdicts(png)).sort()).toEqual([
    ["media.samples@9000", "pass"], ["media.weights@9000", "pass"], ["objects.my-model/model.pt", "pass"], ["objects.my-model/train.csv", "pass"], ["summaries.best_loss", "pass"],
  ]);
  // add_reference's URI is read from the version's manifest file: another URI there fails only that entry.
  expect((await verdicts(png, "https://example.com/other.csv")).filter(([, s]) => s === "fail")).toEqual([["objects.my-model/train.csv", "fail"]]);
  const altered = new Uint8Array(png);
  altered[3] = altered[3]! ^ 0xff;
  expect((await verdicts(altered)).filter(([, s]) => s === "fail")).toEqual([["media.samples@9000", "fail"]]);
}, 30_000);

test("--script use_artifact by URL: the run's used artifacts (RunInputArtifacts) list what use_artifact returned; a listing altered fails exactly that check", async () => {
  const f = fixtureRun("abc123xy");
  const used = [
    { name: "mnist", version: "v3", digest: "0f3c9e1a", type: "dataset", entity: "team", project: "datasets" },
    { name: "my-model", version: "v0", digest: "77aa01bc", type: "model", entity: "e2e-user", project: "e2e-test" },
  ];
  const run = { ...f.run, wandb: { artifacts: [], media: [], summary: {}, used } };
  const manifest: Manifest = { schema: 1, backend: "wandb", workflow: "script", environment: {}, runs: [run] };
  const listing = () => [
    { name: "mnist", type: "dataset", versionIndex: 3, digest: "0f3c9e1a", project: "datasets", entity: "team" },
    { name: "my-model", type: "model", versionIndex: 0, digest: "77aa01bc" },
  ];
  const verdicts = async (alter?: (l: ReturnType<typeof listing>) => ReturnType<typeof listing>) => {
    const r = serverRun(f);
    r.used = alter ? alter(listing()) : listing();
    double = startWandbDouble({ apiKey: KEY, runs: [r] });
    const obs = await readWandbOnlineRun(new WandbGraphql(double.url, KEY), run, { entity: "e2e-user", project: "e2e-test" });
    expect(double.ops).toContain("RunInputArtifacts");
    double.stop();
    return wandbScriptChecks(manifest, { [run.key]: obs }, "url");
  };
  const clean = await verdicts();
  expect(clean.map((c) => [c.name, c.status]).sort()).toEqual([["objects.used:mnist:v3", "pass"], ["objects.used:my-model:v0", "pass"]]);
  expect(clean[0]!.message).toContain("RunInputArtifacts");
  const failing = (cs: Awaited<ReturnType<typeof verdicts>>) => cs.filter((c) => c.status === "fail").map((c) => c.name);
  // The server lists another version's digest for mnist:v3.
  const digest = await verdicts((l) => (l[0]!.digest = "ffff0000", l));
  expect(failing(digest)).toEqual(["objects.used:mnist:v3"]);
  expect(digest.find((c) => c.name === "objects.used:mnist:v3")!.message).toContain("digest differs");
  // The server does not list the model's use at all.
  const dropped = await verdicts((l) => l.slice(0, 1));
  expect(failing(dropped)).toEqual(["objects.used:my-model:v0"]);
  // The same collection and version, but in another project than the one the script used.
  const moved = await verdicts((l) => (l[0]!.project = "scratch", l));
  expect(failing(moved)).toEqual(["objects.used:mnist:v3"]);
  // Offline W&B stores no use (it refuses the call): a skip that says so, never a pass.
  const offline = wandbScriptChecks(manifest, { [run.key]: { runId: run.runId, params: {}, tags: {}, metrics: {}, artifacts: {} } }, "offline");
  expect(offline.map((c) => c.status)).toEqual(["skip", "skip"]);
}, 30_000);

test("W&B's TensorBoard capture by URL: captured rows (tensorboardNamespace) vs the event files, the event file among the run files; a dropped row fails only its tag", async () => {
  const work = mkdtempSync(join(tmpdir(), "e2e-wandb-tb-url-"));
  try {
    const dir = join(work, "tb", "main");
    mkdirSync(dir, { recursive: true });
    const src = readdirSync(join(FIXTURES, "tensorboard")).find((n) => n.startsWith("events.out.tfevents"))!;
    copyFileSync(join(FIXTURES, "tensorboard", src), join(dir, src));
    const events = await readEventFiles(dir);
    const tags = Object.keys(events).sort();
    const f = fixtureRun("abc123xy");
    const run = { ...f.run, tensorboardDir: "tb/main", tensorboardNamespace: "main" };
    const manifest: Manifest = { schema: 1, backend: "wandb", workflow: "cnn", environment: {}, runs: [run] };
    const seeded = (drop?: string) => {
      const r = serverRun(f);
      let s = 100000;
      for (const tag of tags)
        for (const p of events[tag]!)
          if (!(tag === drop && p === events[tag]![0])) r.rows.push({ [`main/${tag}`]: p.value, global_step: p.step, _step: s++, _timestamp: p.wallTime });
      r.files[`main/${src}`] = new Uint8Array(readFileSync(join(dir, src)));
      return r;
    };
    const verdicts = async (drop?: string) => {
      double = startWandbDouble({ apiKey: KEY, runs: [seeded(drop)] });
      const obs = await readWandbOnlineRun(new WandbGraphql(double.url, KEY), run, { entity: "e2e-user", project: "e2e-test" });
      double.stop();
      expect(Object.keys(obs.metrics).some((k) => k.startsWith("main/"))).toBe(false); // kept apart from the run's metrics
      return (await wandbTensorboardChecks(manifest, { [run.key]: obs }, work)).map((c) => [c.name, c.status]).sort();
    };
    expect(await verdicts()).toEqual([...tags.map((t) => [`tensorboard.wandb-capture:${t}`, "pass"]), ["tensorboard.wandb-capture:event-files", "pass"]].sort());
    expect((await verdicts(tags[0])).filter(([, st]) => st === "fail")).toEqual([[`tensorboard.wandb-capture:${tags[0]}`, "fail"]]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 30_000);

test("driver by URL: verify passes, deployment checks pass, the key stays out of config and reports", async () => {
  const f = fixtureRun("abc123xy");
  double = startWandbDouble({ apiKey: KEY, runs: [serverRun(f)] });
  process.env.WANDB_API_KEY = KEY;
  try {
    const started = await wandbDriver.start({ python, workDir: "/tmp/e2e-wandb-double", session: "t", mode: "url", url: double.url, assetRoot: "/tmp" });
    expect(JSON.stringify(started.workflowConfig())).not.toContain(KEY);
    expect(started.workflowEnv().WANDB_API_KEY).toBe(KEY);
    expect(started.workflowEnv().WANDB_BASE_URL).toBe(double.url);
    const manifest: Manifest = { schema: 1, backend: "wandb", workflow: "cnn", environment: {}, runs: [f.run] };
    const v = await started.verify(manifest, "/tmp");
    expect(v.checks.filter((c) => c.status === "fail")).toEqual([]);
    const dep = await started.lifecycle!();
    expect(dep.map((c) => `${c.name}:${c.status}`).sort()).toEqual([
      "deployment.file-round-trip:pass", "deployment.https:pass", "deployment.large-request:pass", "deployment.login:pass", "deployment.versions:pass",
    ]);
    expect(double.ops).toContain("MarkRunFilesUploaded");
    expect(double.runs.some((x) => x.id.startsWith("e2e-deploy-"))).toBe(false); // throwaway run deleted
    expect(scrub(`key=${KEY}`)).toBe("key=***");
  } finally {
    delete process.env.WANDB_API_KEY;
  }
}, 60_000);

test("DDP by URL: runs-in-backend counts the project's runs in the workflow's group or with its name; a planted stray run fails only that check", async () => {
  const f = ddpFixture("ddp0rank");
  const main = { ...serverRun(f), group: f.run.group, config: { lr: 0.001, epochs: 3, optimizer: "adam", world_size: 2 } };
  // Another workflow's run in the same session's project: not the DDP workflow's, not counted.
  const other = { ...serverRun(fixtureRun("cnn0run1", 5)), displayName: "cnn-clean-t", group: "cnn-clean-t" };
  double = startWandbDouble({ apiKey: KEY, runs: [main, other] });
  process.env.WANDB_API_KEY = KEY;
  try {
    const started = await wandbDriver.start({ python, workDir: "/tmp/e2e-wandb-double", session: "t", mode: "url", url: double.url, assetRoot: "/tmp" });
    const verdict = async () => {
      const checks = await verifyWorkflow(started, f.manifest, "/tmp", { commit: f.run.git!.commit, dirty: false });
      return { failed: checks.filter((c) => c.status !== "pass").map((c) => c.name), census: checks.find((c) => c.name === "ddp.runs-in-backend")! };
    };
    const clean = await verdict();
    expect(clean.failed).toEqual([]);
    expect(clean.census.message).toContain("1 run (Runs query in e2e-user/e2e-test for group ddp-clean-t or name ddp-clean-t)");
    expect(double.ops).toContain("Runs");

    // A rank that opened its own run: same group, its own id. Planted in the server's data.
    double.runs.push({ ...serverRun(fixtureRun("ddp1rank", 5)), displayName: "ddp-clean-t", group: "ddp-clean-t" });
    const planted = await verdict();
    expect(planted.failed).toEqual(["ddp.runs-in-backend"]);
    expect(planted.census.message).toContain("not rank 0's: ddp1rank");
    double.runs.pop();

    // Only the name matches (a run outside the group): counted too.
    double.runs.push({ ...serverRun(fixtureRun("ddp2rank", 5)), displayName: "ddp-clean-t" });
    expect((await verdict()).failed).toEqual(["ddp.runs-in-backend"]);
  } finally {
    delete process.env.WANDB_API_KEY;
  }
}, 60_000);

test("a proxy's 413 on the large request fails with the body-limit fix", async () => {
  double = startWandbDouble({ apiKey: KEY, bodyLimit: 1_048_576 });
  process.env.WANDB_API_KEY = KEY;
  try {
    const started = await wandbDriver.start({ python, workDir: "/tmp/e2e-wandb-double", session: "t", mode: "url", url: double.url, assetRoot: "/tmp" });
    const large = (await started.lifecycle!()).find((c) => c.name === "deployment.large-request")!;
    expect(large.status).toBe("fail");
    expect(large.message).toContain("413");
    expect(large.message).toContain("client_max_body_size");
  } finally {
    delete process.env.WANDB_API_KEY;
  }
}, 60_000);

test("wrong key (401), no server, no key, SDK missing or too old: errors naming the fix", async () => {
  double = startWandbDouble({ apiKey: KEY });
  const ctx = { python, workDir: "/tmp/x", session: "t", mode: "url" as const, url: double.url, assetRoot: "/tmp" };
  process.env.WANDB_API_KEY = "wrong-key-0000";
  try {
    const e401 = await wandbDriver.start(ctx).catch((e) => e);
    expect(e401).toBeInstanceOf(E2EError);
    expect(e401.message).toContain("rejected the credentials (HTTP 401)");
    expect(e401.hint).toContain("WANDB_API_KEY");
    const gone = await wandbDriver.start({ ...ctx, url: `http://127.0.0.1:${await freePort()}` }).catch((e) => e);
    expect(gone.message).toContain("does not answer");
    expect(gone.exitCode).toBe(4);
    const missing = await wandbDriver.start({ ...ctx, python: { ...python, info: { ...python.info, packages: { wandb: null } } } }).catch((e) => e);
    expect(missing.message).toContain("wandb SDK is not importable");
    expect(missing.hint).toContain("pip install wandb==0.31.0");
    const old = await wandbDriver.start({ ...ctx, python: { ...python, info: { ...python.info, packages: { wandb: "0.12.0" } } } }).catch((e) => e);
    expect(old.message).toContain("not supported");
    delete process.env.WANDB_API_KEY;
    const nokey = await wandbDriver.start(ctx).catch((e) => e);
    expect(nokey.hint).toContain("--api-key-file");
  } finally {
    delete process.env.WANDB_API_KEY;
  }
}, 30_000);
