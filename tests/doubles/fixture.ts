/** A manifest run and the bytes behind it, for tests of the by-URL readers against test doubles. */
import { createHash } from "node:crypto";
import type { ManifestRun, MetricPoint } from "../../src/verify/manifest.ts";

export interface Fixture {
  run: ManifestRun;
  bytes: Record<string, Uint8Array>;
  steps: number;
}

export function fixtureRun(runId: string, steps = 2500): Fixture {
  const bytes: Record<string, Uint8Array> = {
    "model.pt": new Uint8Array(Array.from({ length: 40_000 }, (_, i) => (i * 31 + 7) & 0xff)),
    "plots/loss.png": new Uint8Array(Array.from({ length: 3_000 }, (_, i) => (i * 17) & 0xff)),
  };
  const loss: MetricPoint[] = [];
  const acc: MetricPoint[] = [];
  for (let s = 0; s < steps; s++) {
    loss.push([s, 1 / (s + 1) + 1e-17 * s, 1_700_000_000_000 + s]);
    if (s % 10 === 0) acc.push([s, Math.min(1, s / steps + 0.1), 1_700_000_000_000 + s]);
  }
  return {
    steps,
    bytes,
    run: {
      key: "main", runId, name: "cnn-clean", project: "e2e-test",
      params: { lr: "0.001", epochs: "3", optimizer: "adam" },
      tags: {},
      metrics: { loss, acc },
      artifacts: Object.entries(bytes).map(([path, b]) => ({ path, size: b.length, sha256: createHash("sha256").update(b).digest("hex"), kind: "file" as const })),
      git: { commit: "0123456789abcdef0123456789abcdef01234567", branch: "e2e-main", dirty: false },
      status: "FINISHED",
    },
  };
}

/**
 * A DDP workflow's manifest over a fixture run: one run (rank 0's), loss at every step, its
 * world_size param and ddp facts, the loss plot as its figure; what `ddp.*` and the census judge.
 */
export function ddpFixture(runId: string, steps = 30): Fixture & { manifest: import("../../src/verify/manifest.ts").Manifest } {
  const f = fixtureRun(runId, steps);
  const name = "ddp-clean-t";
  f.run = {
    ...f.run, name, group: name,
    params: { ...f.run.params, world_size: "2" },
    metrics: { loss: f.run.metrics.loss! },
    artifacts: f.run.artifacts.map((a) => (a.path.endsWith(".png") ? { ...a, kind: "image" as const } : a)),
  };
  return { ...f, manifest: { schema: 1, backend: "wandb", workflow: "ddp", environment: {}, facts: { ddp: { worldSize: 2, loggingRanks: [0] } }, runs: [f.run] } };
}
