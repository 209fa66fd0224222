import { describe, expect, test } from "bun:test";
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ddpRunChecks, offlineCensus } from "./census.ts";
import type { Manifest } from "./manifest.ts";

const manifest = (workflow: string, offlinePath?: string): Manifest => ({
  schema: 1, backend: "wandb", workflow, environment: {},
  runs: [{ key: "main", runId: "abc", name: "ddp", params: {}, tags: {}, metrics: {}, artifacts: [], status: "FINISHED", offlinePath }],
});

describe("ddp runs counted in the backend", () => {
  test("one run, rank 0's, passes; a stray run fails naming it; other workflows get no check", async () => {
    const one = async () => ({ where: "here", ids: ["abc"] });
    const two = async () => ({ where: "here", ids: ["abc", "zzz"] });
    expect((await ddpRunChecks(manifest("ddp"), "/", one)).map((c) => c.status)).toEqual(["pass"]);
    const bad = await ddpRunChecks(manifest("ddp"), "/", two);
    expect(bad[0]!.status).toBe("fail");
    expect(bad[0]!.message).toContain("zzz");
    expect(await ddpRunChecks(manifest("cnn"), "/", two)).toEqual([]);
    expect((await ddpRunChecks(manifest("ddp"), "/", undefined))[0]!.status).toBe("skip");
  });
  test("offline census counts the run folders beside the manifest's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "census-"));
    try {
      await mkdir(join(dir, "wandb", "offline-run-1-abc"), { recursive: true });
      await writeFile(join(dir, "wandb", "debug.log"), "");
      const census = offlineCensus("W&B run folders", /^offline-run-/, (e) => e.slice(e.lastIndexOf("-") + 1));
      expect((await census(manifest("ddp", "wandb/offline-run-1-abc"), dir)).ids).toEqual(["abc"]);
      await mkdir(join(dir, "wandb", "offline-run-2-zzz"));
      expect((await ddpRunChecks(manifest("ddp", "wandb/offline-run-1-abc"), dir, census))[0]!.status).toBe("fail");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
