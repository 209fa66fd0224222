/**
 * Verify a kept work folder again (`e2e run --keep-work`) with this checkout's code, without
 * training again: src/verify/reverify.ts, the path the mutation suite uses. For re-measuring a
 * large run's verification on an idle machine:
 *   bun tests/reverify-kept.ts /tmp/e2e-XXXX/mlflow scale-clean
 * prints one JSON line: the verdict, failing checks, verifyMs (wall) and e2e's peak RSS.
 */
import { basename } from "node:path";
import { openKept } from "../src/verify/reverify.ts";
import { useInterpreter } from "../src/runtime/python/env.ts";
import { peakRssBytes } from "../src/run/perf.ts";
import type { BackendName } from "../src/verify/manifest.ts";
import { repoRoot, setupPython } from "./helpers.ts";

const [dir, workflow] = process.argv.slice(2);
if (!dir || !workflow) {
  console.error("usage: bun tests/reverify-kept.ts <work folder>/<backend> <workflow folder, e.g. scale-clean>");
  process.exit(2);
}
const python = await useInterpreter(process.env.E2E_PYTHON ?? setupPython());
const kept = await openKept(basename(dir) as BackendName, dir, python, repoRoot);
try {
  // E2E_REVERIFY_TWICE: once to warm the server (its first requests import and compile), then timed.
  if (process.env.E2E_REVERIFY_TWICE) await kept.verify(workflow);
  const t0 = performance.now();
  const checks = await kept.verify(workflow);
  const verifyMs = Math.round(performance.now() - t0);
  const failed = checks.filter((c) => c.status === "fail");
  console.log(JSON.stringify({
    status: failed.length ? "failed" : "passed", checks: checks.length, verifyMs, peakRssBytes: peakRssBytes(),
    failed: failed.map((c) => ({ name: c.name, message: c.message })),
    metrics: checks.filter((c) => c.group === "metrics").map((c) => `${c.status} ${c.name}: ${c.message}`),
  }));
} finally {
  await kept.stop();
}
