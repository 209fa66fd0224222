import { describe, expect, test } from "bun:test";
import { contiguous, workflowChecks } from "./workflow-checks.ts";
import type { Manifest } from "./manifest.ts";
import type { ObservedRun } from "./observed.ts";

const obsOf = (steps: number[], extra: Partial<ObservedRun> = {}): ObservedRun => ({
  runId: "x", params: {}, tags: {}, artifacts: {}, metrics: { loss: steps.map((s) => ({ step: s, value: s })) }, ...extra,
});
const manifest = (workflow: string, facts: Record<string, unknown>, runs: Manifest["runs"]): Manifest => ({ schema: 1, backend: "mlflow", workflow, environment: {}, runs, facts });
const run = (key: string, steps: number[], extra: Partial<Manifest["runs"][number]> = {}): Manifest["runs"][number] => ({
  key, runId: key, name: key, params: {}, tags: {}, status: "FINISHED", artifacts: [], metrics: { loss: steps.map((s) => [s, s, 0]) }, ...extra,
});
const failed = (cs: { status: string; name: string }[]) => cs.filter((c) => c.status === "fail").map((c) => c.name);

describe("workflow checks", () => {
  test("contiguous finds gaps and duplicates", () => {
    expect(contiguous([1, 2, 3], 1, 3).ok).toBe(true);
    expect(contiguous([1, 3], 1, 3).gaps).toEqual([2]);
    expect(contiguous([1, 2, 2, 3], 1, 3).dups).toEqual([2]);
  });
  test("checkpoint: a dropped step at the resume boundary fails continuity", () => {
    const steps = Array.from({ length: 20 }, (_, i) => i + 1);
    const received = { source: "backend-api", api: "x", path: "ckpt.pt", sha256: "abc", size: 1 };
    const m = manifest("checkpoint", { resume: { stopStep: 10, resumeStep: 11, checkpoint: "ckpt.pt", checkpointSha256: "abc", received } }, [run("main", steps)]);
    const good = workflowChecks(m, { main: obsOf(steps, { artifacts: { "ckpt.pt": { size: 1, sha256: "abc" } } }) });
    expect(failed(good)).toEqual(["visualization.figure"]);
    const bad = workflowChecks(m, { main: obsOf(steps.filter((s) => s !== 11), { artifacts: { "ckpt.pt": { size: 1, sha256: "abc" } } }) });
    expect(failed(bad)).toEqual(["visualization.figure", "resume.continuity:loss"]);
  });
  test("checkpoint: loaded-from-backend compares the bytes received with what the backend holds", () => {
    const steps = [1, 2, 3];
    const facts = (sha: string) => ({ resume: { stopStep: 1, resumeStep: 2, checkpoint: "ckpt.pt", checkpointSha256: "abc", received: { source: "backend-api", api: "x", path: "ckpt.pt", sha256: sha, size: 1 } } });
    const held = (sha: string) => ({ main: obsOf(steps, { artifacts: { "ckpt.pt": { size: 1, sha256: sha } } }) });
    expect(failed(workflowChecks(manifest("checkpoint", facts("abc"), [run("main", steps)]), held("abc")))).toEqual(["visualization.figure"]);
    // The process received other bytes than the backend holds.
    expect(failed(workflowChecks(manifest("checkpoint", facts("bad"), [run("main", steps)]), held("abc")))).toEqual(["visualization.figure", "resume.loaded-from-backend"]);
    // The backend's stored copy was altered: stored and loaded both fail (received != held).
    expect(failed(workflowChecks(manifest("checkpoint", facts("abc"), [run("main", steps)]), held("zzz")))).toEqual(["visualization.figure", "resume.checkpoint-stored", "resume.loaded-from-backend"]);
    // No report of what was received is a failure, not a pass.
    const none = manifest("checkpoint", { resume: { stopStep: 1, resumeStep: 2, checkpoint: "ckpt.pt", checkpointSha256: "abc" } }, [run("main", steps)]);
    expect(failed(workflowChecks(none, held("abc")))).toEqual(["visualization.figure", "resume.loaded-from-backend"]);
  });
  test("sweep: the best trial is judged from the backend's numbers", () => {
    const m = manifest("sweep", { best: { key: "t1", metric: "val_loss", value: 0.1 } }, [
      run("parent", [], { metrics: {} }), run("t0", [], { parent: "parent", metrics: {} }), run("t1", [], { parent: "parent", metrics: {} }),
    ]);
    const vl = (v: number) => obsOf([], { metrics: { val_loss: [{ step: 1, value: v }] } });
    const ok = workflowChecks(m, { parent: obsOf([], { tags: { best_trial: "t1" } }), t0: vl(0.5), t1: vl(0.1) });
    expect(failed(ok)).toEqual(["visualization.figure"]);
    const wrong = workflowChecks(m, { parent: obsOf([], { tags: { best_trial: "t1" } }), t0: vl(0.05), t1: vl(0.1) });
    expect(failed(wrong)).toContain("sweep.best-trial");
  });
  test("ddp: a duplicated step (two ranks logging) fails", () => {
    const m = manifest("ddp", { ddp: { worldSize: 2, loggingRanks: [0] } }, [run("main", [1, 2, 3], { params: { world_size: "2" } })]);
    expect(failed(workflowChecks(m, { main: obsOf([1, 2, 3], { params: { world_size: "2" } }) }))).toEqual(["visualization.figure"]);
    expect(failed(workflowChecks(m, { main: obsOf([1, 1, 2, 2, 3, 3], { params: { world_size: "2" } }) }))).toContain("ddp.continuity:loss");
  });
});

describe("verifyWorkflow", () => {
  test("a manifest without git facts fails git.harness instead of dropping the git checks", async () => {
    const { verifyWorkflow } = await import("./verify-workflow.ts");
    const m = manifest("cnn", {}, [run("main", [1, 2])]);
    const be = { verify: async () => ({ checks: [], observed: {} }) };
    const checks = await verifyWorkflow(be, m, "/nonexistent", { commit: "c0ffee", dirty: false });
    expect(checks.find((c) => c.name === "git.harness")?.status).toBe("fail");
    m.runs[0]!.git = { commit: "c0ffee", dirty: false };
    expect((await verifyWorkflow(be, m, "/nonexistent", { commit: "c0ffee", dirty: false })).find((c) => c.name === "git.harness")?.status).toBe("pass");
  });
});
