import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs } from "./_shared.ts";
import { benchCommand } from "../bench/command.ts";
import { serveSink } from "../bench/sink.ts";

export default defineCommand({
  meta: COMMANDS.bench,
  args: {
    quick: { type: "boolean", description: "Bounded smoke run (about 3 minutes on 2 cores)" },
    profile: { type: "string", description: "quick | full (default: full; it states its estimated duration first)" },
    backend: { type: "string", description: "Backends, comma-separated: mlflow, wandb, clearml, all (default: all)", alias: "b" },
    mode: { type: "string", description: "MLflow server modes, comma-separated: native, docker, all (default: native)" },
    report: { type: "string", description: "Write the JSON result here, atomically, after every stage (kept when interrupted)", valueHint: "FILE" },
    html: { type: "string", description: "Write a self-contained HTML report with charts", valueHint: "FILE" },
    markdown: { type: "string", description: "Write a Markdown report (CI summaries)", valueHint: "FILE" },
    "gh-bench": { type: "string", description: "Write github-action-benchmark input: FILE (customSmallerIsBetter) and FILE-bigger (customBiggerIsBetter)", valueHint: "FILE" },
    baseline: { type: "string", description: "Compare with an earlier JSON result; exit 1 naming any figure that regressed", valueHint: "FILE" },
    "max-regression": { type: "string", description: "Regression threshold for --baseline (default: 10%)" },
    "keep-work": { type: "boolean", description: "Keep the work folder (server logs, SDK files)" },
    sink: { type: "boolean", description: "(internal) serve the loopback sink that measures the harness ceiling" },
    ...pythonArgs,
    ...jsonArgs,
  },
  run: ({ args }) => {
    if (args.sink) return new Promise<number>(() => serveSink());
    return benchCommand({
      quick: args.quick,
      profile: args.profile,
      backend: args.backend,
      mode: args.mode,
      python: args.python,
      assets: args.assets,
      baseline: args.baseline,
      maxRegression: args["max-regression"],
      json: args.json,
      report: args.report,
      html: args.html,
      markdown: args.markdown,
      ghBench: args["gh-bench"],
      keepWork: args["keep-work"],
    });
  },
});
