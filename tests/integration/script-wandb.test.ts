/**
 * `e2e run --script` with W&B offline, on a script written like W&B's docs: a checkpoint stored
 * as a W&B Artifact (add_file, add_dir, add_reference) and with run.log_model, an Image, a Table and a Histogram in
 * wandb.log, run.summary set explicitly beside the implicit last values, tags at init and
 * changed later. The recorder notes what each call handed over; the verifier reads the .wandb
 * log and the bytes W&B holds. Then one planted fault per kind, on W&B's data (the log, the
 * staged copy, the media file), fails exactly its check.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driverFor } from "../../src/backends/registry.ts";
import { parseWandbRecords } from "../../src/backends/wandb/records.ts";
import { useInterpreter } from "../../src/runtime/python/env.ts";
import { verifyScriptRun } from "../../src/script/execute.ts";
import { runScript, type ScriptRun } from "../../src/script/run.ts";
import { parseScript } from "../../src/script/spec.ts";
import type { StartedBackend } from "../../src/backends/types.ts";
import type { Check } from "../../src/verify/check.ts";
import { repoRoot, runE2E, setupPython } from "../helpers.ts";
import { editMessage, encodeFields, fieldText, rewriteWandbLog } from "../wandb-log.ts";
import { parseFields, type ProtoField } from "../../src/util/protobuf.ts";

const utf8 = new TextEncoder();
/** The item at `key` (key=1, or nested_key=2 parts joined by ".") in a history (item=1) or summary (update=1) message: its value_json (16) edited. */
const editItems = (fields: ProtoField[], itemField: number, key: string, edit: (json: string) => string) => fields.map((f) => {
  if (f.no !== itemField || f.wire !== 2) return f;
  const inner = parseFields(f.bytes!);
  const k = inner.find((x) => x.no === 1);
  const path = k ? fieldText(k) : inner.filter((x) => x.no === 2).map(fieldText).join(".");
  if (path !== key) return f;
  return { ...f, bytes: encodeFields(inner.map((x) => (x.no === 16 ? { ...x, bytes: utf8.encode(edit(fieldText(x))) } : x))) };
});

const SCRIPT = `
import os, numpy as np, torch, wandb

run = wandb.init(project="script-wandb-kinds", config={"lr": 0.01}, tags=["baseline", "team=vision"])
model = torch.nn.Linear(4, 2)
for epoch in range(3):
    run.log({"loss": 1.0 / (epoch + 1)})
run.log({
    "samples": wandb.Image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), caption="first"),
    "preds": wandb.Table(columns=["id", "label"], data=[[1, "cat"], [2, "dog"]]),
    "weights": wandb.Histogram([0.1, 0.2, 0.2, 0.9]),
})
run.summary["best_loss"] = 0.25
run.tags = run.tags + ("final",)

torch.save(model.state_dict(), "model.pt")
os.makedirs("assets/sub", exist_ok=True)
open("assets/vocab.txt", "w").write("a b c")
open("assets/sub/notes.txt", "w").write("notes")
art = wandb.Artifact("my-model", type="model")
art.add_file("model.pt")
art.add_dir("assets", name="assets")
art.add_reference("https://example.com/data/train.csv", checksum=False)
run.log_artifact(art)
run.log_model("model.pt", name="clf-model")
run.finish()
`;

let python = "";
let root = "";

beforeAll(() => {
  python = setupPython();
  root = mkdtempSync(join(tmpdir(), "e2e-script-wandb-"));
}, 300_000);
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Case {
  run: ScriptRun;
  be: StartedBackend;
  backendDir: string;
  checks: () => Promise<Check[]>;
}

async function runUserScript(source: string): Promise<Case> {
  const proj = join(root, "project");
  const backendDir = join(root, "wandb");
  mkdirSync(proj, { recursive: true });
  mkdirSync(backendDir, { recursive: true });
  writeFileSync(join(proj, "train.py"), source);
  const be = await (await driverFor("wandb")).start({ python: await useInterpreter(python), workDir: backendDir, session: "test", assetRoot: repoRoot, mode: "offline" });
  const spec = parseScript("train.py", [], proj);
  const run = await runScript({ spec, python, assetRoot: repoRoot, workDir: join(root, "work"), env: be.workflowEnv(), timeoutMs: 240_000 });
  return { run, be, backendDir, checks: async () => (await verifyScriptRun(be, run, backendDir)).checks };
}

// script.arrived sums every kind up, so it fails with any of them: left out here.
const failing = (cs: Check[]) => cs.filter((c) => c.status === "fail" && c.name !== "script.arrived").map((c) => c.name).sort();

describe("--script with W&B: artifacts, media, summary, tags", () => {
  let c: Case;
  let runDir = "";
  let log = "";
  beforeAll(async () => {
    c = await runUserScript(SCRIPT);
    const r = c.run.merged.runs[0]!;
    runDir = r.offlinePath!;
    log = join(runDir, readdirSync(runDir).find((f) => f.endsWith(".wandb"))!);
  }, 400_000);

  /** Runs the fault, verifies, and restores the files it touched. */
  async function planted(files: string[], fault: () => void): Promise<Check[]> {
    const saved = files.map((f) => [f, readFileSync(f)] as const);
    try {
      fault();
      return await c.checks();
    } finally {
      for (const [f, b] of saved) {
        chmodSync(f, 0o600);
        writeFileSync(f, b);
      }
    }
  }

  test("everything the script logged is verified: no check fails, nothing of these kinds unverified", async () => {
    const checks = await c.checks();
    expect(failing(checks)).toEqual([]);
    const names = (g: string) => checks.filter((x) => x.group === g && x.status === "pass").map((x) => x.name).sort();
    expect(names("objects")).toEqual([
      "objects.clf-model/model.pt", "objects.my-model/assets/sub/notes.txt", "objects.my-model/assets/vocab.txt", "objects.my-model/model.pt", "objects.my-model/train.csv",
    ]);
    expect(names("media")).toEqual(["media.preds@3", "media.samples@3", "media.weights@3"]);
    expect(names("summaries")).toEqual(["summaries.best_loss", "summaries.loss"]);
    expect(names("tags")).toEqual(["tags.baseline", "tags.final", "tags.team"]);
    const unverified = checks.filter((x) => x.status === "skip" && x.name.startsWith("script.unverified")).map((x) => x.message).join("\n");
    expect(unverified).not.toMatch(/Artifact|media|Image|Table|Histogram/);
    const arrived = checks.find((x) => x.name === "script.arrived")!;
    expect(arrived.message).toMatch(/artifacts 5\/5.*media 3\/3.*summaries 2\/2/);
  }, 120_000);

  test("planted: a byte flipped in W&B's staged copy of the checkpoint fails only that entry", async () => {
    const staged = parseWandbRecords(new Uint8Array(readFileSync(log))).artifacts.find((a) => a.name === "my-model")!.entries.find((e) => e.path === "model.pt")!.localPath!;
    const checks = await planted([staged], () => {
      chmodSync(staged, 0o600);
      const b = readFileSync(staged);
      b[20] = b[20]! ^ 0xff;
      writeFileSync(staged, b);
    });
    expect(failing(checks)).toEqual(["objects.my-model/model.pt"]);
  }, 120_000);

  test("planted: a manifest entry dropped from the artifact record fails only that entry", async () => {
    const checks = await planted([log], () => {
      rewriteWandbLog(log, (p, kind) => (kind === 8 && new TextDecoder("latin1").decode(p).includes("my-model")
        ? editMessage(p, [8, 12], (fs) => fs.filter((f) => f.no !== 4 || !fieldText(f).includes("vocab.txt"))) : p));
    });
    expect(failing(checks)).toEqual(["objects.my-model/assets/vocab.txt"]);
  }, 120_000);

  test("planted: the image file W&B stored altered fails only media.samples", async () => {
    const dir = join(runDir, "files", "media", "images");
    const img = join(dir, readdirSync(dir)[0]!);
    const checks = await planted([img], () => {
      const b = readFileSync(img);
      b[b.length - 5] = b[b.length - 5]! ^ 0xff;
      writeFileSync(img, b);
    });
    expect(failing(checks)).toEqual(["media.samples@3"]);
  }, 120_000);

  test("planted: the summary record of run.summary['best_loss'] dropped fails only summaries.best_loss", async () => {
    const checks = await planted([log], () => {
      const n = rewriteWandbLog(log, (p, kind) => (kind === 3 && new TextDecoder("latin1").decode(p).includes("best_loss") ? null : p));
      expect(n).toBeGreaterThan(0);
    });
    expect(failing(checks)).toEqual(["summaries.best_loss"]);
  }, 120_000);

  test("planted: the Table's JSON file W&B stored altered fails only media.preds", async () => {
    const dir = join(runDir, "files", "media", "table");
    const file = join(dir, readdirSync(dir).find((f) => f.startsWith("preds"))!);
    const checks = await planted([file], () => writeFileSync(file, readFileSync(file, "utf8").replace("dog", "cow")));
    expect(failing(checks)).toEqual(["media.preds@3"]);
  }, 120_000);

  test("planted: a count changed in the Histogram's history row fails only media.weights", async () => {
    const checks = await planted([log], () => {
      const n = rewriteWandbLog(log, (p, kind) => (kind === 2 && new TextDecoder("latin1").decode(p).includes("histogram")
        ? editMessage(p, [2], (fs) => editItems(fs, 1, "weights.values", (j) => {
          const values = JSON.parse(j) as number[];
          values[0]! += 1;
          return JSON.stringify(values);
        })) : p));
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["media.weights@3"]);
  }, 120_000);

  test("planted: the implicit summary's last loss changed in the summary records fails only summaries.loss", async () => {
    const checks = await planted([log], () => {
      const n = rewriteWandbLog(log, (p, kind) => (kind === 3 ? editMessage(p, [3], (fs) => editItems(fs, 1, "loss", () => "9.5")) : p));
      expect(n).toBeGreaterThan(0);
    });
    expect(failing(checks)).toEqual(["summaries.loss"]);
  }, 120_000);

  test("planted: add_reference's URI changed in the artifact manifest fails only that entry", async () => {
    const checks = await planted([log], () => {
      const n = rewriteWandbLog(log, (p, kind) => (kind === 8 && new TextDecoder("latin1").decode(p).includes("train.csv")
        ? editMessage(p, [8, 12], (fs) => fs.map((f) => (f.no === 4 && fieldText(f).includes("train.csv")
          ? { ...f, bytes: encodeFields(parseFields(f.bytes!).map((x) => (x.no === 3 ? { ...x, bytes: utf8.encode("https://example.com/data/other.csv") } : x))) } : f))) : p));
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["objects.my-model/train.csv"]);
  }, 120_000);

  test("planted: the artifact record run.log_model wrote dropped fails only its entry", async () => {
    const checks = await planted([log], () => {
      const n = rewriteWandbLog(log, (p, kind) => (kind === 8 && new TextDecoder("latin1").decode(p).includes("clf-model") ? null : p));
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["objects.clf-model/model.pt"]);
  }, 120_000);

  test("planted: a tag given to wandb.init removed from the run records fails only tags.baseline", async () => {
    const checks = await planted([log], () => {
      rewriteWandbLog(log, (p, kind) => (kind === 17 ? editMessage(p, [17], (fs) => fs.filter((f) => f.no !== 10 || fieldText(f) !== "baseline")) : p));
    });
    expect(failing(checks)).toEqual(["tags.baseline"]);
  }, 120_000);

  test("planted: the tag added by run.tags = ... removed from the log fails only tags.final", async () => {
    const checks = await planted([log], () => {
      rewriteWandbLog(log, (p, kind) => (kind === 17 ? editMessage(p, [17], (fs) => fs.filter((f) => f.no !== 10 || fieldText(f) !== "final")) : p));
    });
    expect(failing(checks)).toEqual(["tags.final"]);
  }, 120_000);
});

describe("e2e run --script --backend wandb (the compiled command, as a user runs it)", () => {
  test("the script with Artifacts, media, summary and tags exits 0, every kind verified, nothing unverified", async () => {
    const proj = join(root, "cli");
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, "train.py"), SCRIPT);
    const r = await runE2E(["run", "--script", "train.py", "--backend", "wandb", "--python", python, "--json"], { cwd: proj, timeoutMs: 400_000 });
    const checks = JSON.parse(r.stdout).backends[0].workflows[0].checks as Check[];
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(r.code).toBe(0);
    for (const g of ["objects", "media", "summaries", "tags", "metrics"])
      expect(checks.filter((c) => c.group === g && c.status === "pass").length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.status === "skip")).toEqual([]);
  }, 500_000);
});
