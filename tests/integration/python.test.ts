/**
 * The Python side's own tests (python/tests: the adapter, the workflows and the recorder against
 * the real SDKs and a real MLflow server), run with e2e's venv. pytest is installed into a
 * folder of its own so the user's venv stays as `e2e setup` made it.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, setupPython } from "../helpers.ts";

test("pytest python/tests passes", () => {
  const python = setupPython();
  const site = join(repoRoot, ".cache", "pytest-site");
  if (!existsSync(join(site, "pytest"))) {
    const pip = spawnSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", site, "pytest"], { encoding: "utf8" });
    if (pip.status !== 0) console.error(pip.stderr);
    expect(pip.status).toBe(0);
  }
  const r = spawnSync(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", join(repoRoot, "python", "tests")], {
    encoding: "utf8",
    cwd: repoRoot,
    env: { ...process.env, PYTHONPATH: site },
    timeout: 1_500_000,
  });
  const summary = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.status !== 0) console.error(r.stdout.slice(-6000), r.stderr.slice(-3000));
  expect(summary).toMatch(/passed/);
  expect(summary).not.toMatch(/failed|error/);
  expect(r.status).toBe(0);
}, 1_600_000);
