/**
 * The direct-store variant of `e2e bench` (--direct-artifacts): a real native MLflow server started
 * with --no-serve-artifacts --default-artifact-root DIR hands runs an artifact_uri in DIR, the
 * bench writes and reads the bytes there itself (no server in the path), and the files are in the
 * server's store afterwards, read back from disk here, byte counts as written; nothing went
 * through a proxy. A served server is refused as not being the direct variant. No timing is asserted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { directArtifactFigures, localArtifactDir } from "../../src/bench/direct-artifacts.ts";
import type { Figure } from "../../src/bench/figure.ts";
import type { SuiteContext } from "../../src/bench/http-suite.ts";
import { artifactRepeatsFor, makeBenchPlan } from "../../src/bench/plan.ts";
import { bytesOf } from "../../src/bench/sizes.ts";
import { startNative, type BenchServer } from "../../src/bench/servers.ts";
import { setupPython } from "../helpers.ts";

const work = mkdtempSync(join(tmpdir(), "e2e-bench-direct-"));
let python: string;
beforeAll(() => void (python = setupPython()), 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

function context(url: string, figures: Figure[], errors: string[]): SuiteContext {
  return { target: "mlflow-native", url, plan: makeBenchPlan({ quick: true }), figure: (f) => void figures.push(f), progress: () => {}, error: (s, e) => void errors.push(`${s}: ${e}`) };
}

describe("bench: MLflow with a direct artifact store", () => {
  test("the bytes go straight into the server's store, each size measured up and down", async () => {
    const server: BenchServer = await startNative(python, work, 1, true);
    try {
      expect(server.info.store).toContain("--no-serve-artifacts");
      const figures: Figure[] = [];
      await directArtifactFigures(context(server.url, figures, []));
      const plan = makeBenchPlan({ quick: true });
      expect(figures.map((f) => f.name).sort()).toEqual(plan.artifactSizes.flatMap(() => ["direct.artifact.download", "direct.artifact.upload"]).sort());
      const repeats = (size: number) => artifactRepeatsFor(plan, size);
      for (const f of figures) expect(f.samples).toBe(repeats(bytesOf(String(f.params.size))));
      // What the store holds, read from disk: every file, at the size written; no proxy folder.
      const dir = join(work, "mlflow-native-direct-artifacts");
      const stored = filesUnder(join(dir, "artifact-store")).filter((p) => p.includes("/artifacts/bench/"));
      const want = plan.artifactSizes.flatMap((s) => Array(repeats(s)).fill(s));
      expect(stored).toHaveLength(want.length);
      expect(stored.map((p) => statSync(p).size).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
      expect(existsSync(join(dir, "mlartifacts"))).toBe(false);
    } finally {
      await server.stop();
    }
  }, 300_000);

  test("a server that proxies artifacts, or a store that is not a local directory, is refused by name", async () => {
    expect(() => localArtifactDir("s3://bucket/1/abc/artifacts")).toThrow(/local directory/);
    expect(localArtifactDir("file:///tmp/x/1/abc/artifacts")).toBe("/tmp/x/1/abc/artifacts");
    const served = await startNative(python, join(work, "served"), 1);
    try {
      await expect(directArtifactFigures(context(served.url, [], []))).rejects.toThrow(/proxies artifacts/);
    } finally {
      await served.stop();
    }
  }, 300_000);
});
