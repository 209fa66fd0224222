/**
 * `e2e run --profile full --backend all` through the compiled binary, once: every workflow x
 * backend x git variant goes through the TypeScript verifier against real SDKs (a real MLflow
 * server; W&B and ClearML offline). Each workflow must produce the check groups it promises,
 * each with passing checks and none failing; a group missing from the output is a failure,
 * so a check that silently stops being made is caught here.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runE2E, setupPython } from "../helpers.ts";

interface Check { name: string; group: string; status: "pass" | "fail" | "skip"; message: string }
interface Doc {
  status: string;
  backends: { backend: string; status: string; workflows: { workflow: string; variant: string; checks: Check[] }[] }[];
}

/** Groups every workflow must produce, with at least one passing check each. */
const COMMON = ["workflow", "git", "params", "metrics", "timestamps", "artifacts", "visualization", "tensorboard"];
/** Per workflow: extra groups and the named checks that carry its promise. */
const REQUIRED: Record<string, { groups: string[]; checks: string[] }> = {
  cnn: { groups: [], checks: ["git.harness", "git.commit"] },
  lightning: { groups: [], checks: ["git.harness"] },
  ddp: { groups: ["ddp"], checks: ["ddp.runs-in-backend", "ddp.world-size"] },
  sweep: { groups: ["sweep"], checks: ["sweep.best-trial", "sweep.trials"] },
  checkpoint: { groups: ["resume"], checks: ["resume.checkpoint-stored", "resume.loaded-from-backend", "resume.boundary"] },
  scale: { groups: ["scale"], checks: ["scale.points"] },
};
const BACKENDS = ["mlflow", "wandb", "clearml"];

let doc: Doc;
let code: number;
let stderr = "";

beforeAll(async () => {
  setupPython();
  const dir = await mkdtemp(join(tmpdir(), "e2e-full-"));
  try {
    const report = join(dir, "report.json");
    const r = await runE2E(["run", "--profile", "full", "--backend", "all", "--json", "--report", report], { timeoutMs: 50 * 60_000 });
    code = r.code;
    stderr = r.stderr;
    doc = JSON.parse(await readFile(report, "utf8")) as Doc;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 55 * 60_000);

describe("e2e run --profile full --backend all", () => {
  test("exits 0 with every check passed", () => {
    const failed = doc.backends.flatMap((b) => b.workflows.flatMap((w) => w.checks.filter((c) => c.status === "fail").map((c) => `${b.backend}/${w.workflow}-${w.variant}: ${c.name}: ${c.message}`)));
    expect(failed).toEqual([]);
    expect(doc.status).toBe("passed");
    if (code !== 0) console.error(stderr.slice(-3000));
    expect(code).toBe(0);
  });

  test("every backend ran every workflow, clean and dirty", () => {
    for (const backend of BACKENDS) {
      const b = doc.backends.find((x) => x.backend === backend);
      expect(b?.workflows.map((w) => `${w.workflow}-${w.variant}`).sort()).toEqual(Object.keys(REQUIRED).flatMap((w) => [`${w}-clean`, `${w}-dirty`]).sort());
    }
  });

  for (const [workflow, req] of Object.entries(REQUIRED))
    test(`${workflow}: produces its check groups on every backend`, () => {
      const missing: string[] = [];
      for (const b of doc.backends)
        for (const w of b.workflows.filter((x) => x.workflow === workflow)) {
          const where = `${b.backend}/${workflow}-${w.variant}`;
          for (const g of [...COMMON, ...req.groups])
            if (!w.checks.some((c) => c.group === g && c.status === "pass")) missing.push(`${where}: no passing ${g} check`);
          for (const name of req.checks)
            if (!w.checks.some((c) => c.name === name && c.status === "pass")) missing.push(`${where}: ${name} not passed (${w.checks.find((c) => c.name === name)?.status ?? "absent"})`);
        }
      expect(missing).toEqual([]);
    });
});
