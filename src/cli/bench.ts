import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs } from "./_shared.ts";
import { BENCH_HELP, benchCommand } from "../bench/command.ts";
import { serveSink } from "../bench/sink.ts";

export default defineCommand({
  meta: COMMANDS.bench,
  args: {
    quick: { type: "boolean", description: "Bounded smoke run (about 3 to 5 minutes on 2 cores; longer with --mode all)" },
    profile: { type: "string", description: "quick | full (default: full; it states its estimated duration first)" },
    backend: { type: "string", description: `Backends, comma-separated: ${BENCH_HELP.backends}, all (default: all)`, alias: "b" },
    mode: { type: "string", description: "MLflow server modes, comma-separated: native, docker, all (default: native)" },
    workers: { type: "string", description: "Uvicorn workers of the native MLflow server, comma-separated (default 1): the first gets the whole suite, each other count log-batch, the client sweep and the fleet, side by side", valueHint: "N,N" },
    "direct-artifacts": { type: "boolean", description: "Also start a native MLflow server with --no-serve-artifacts --default-artifact-root DIR and measure artifacts written straight to that store beside the proxy's (default: on in full, off in quick; --no-direct-artifacts turns it off)" },
    url: { type: "string", description: `Measure your own server instead of starting one (with --backend ${BENCH_HELP.urlBackends}; its API server); credentials from the environment (${BENCH_HELP.urlCredentials}) or --api-key-file; everything it creates is deleted afterwards`, valueHint: "URL" },
    "api-key-file": { type: "string", description: `With --url and --backend ${BENCH_HELP.keyFileBackends}: a file holding the secret, never argv (as e2e run --api-key-file)`, valueHint: "FILE" },
    "max-rps": { type: "string", description: "Most requests per second sent to the server (sequential figures and the fleet load)", valueHint: "N" },
    duration: { type: "string", description: "Seconds the fleet load may take, all steps together (default: quick 30, full 240)", valueHint: "S" },
    jobs: { type: "string", description: "Most simulated training jobs in the fleet load (stepped 1, 2, 4 ...; default: quick 32, full 256)", valueHint: "N" },
    metrics: { type: "string", description: "Metrics each simulated job logs per step (default 20)", valueHint: "K" },
    interval: { type: "string", description: "Milliseconds between a simulated job's steps (default 100; also the p99 threshold)", valueHint: "MS" },
    "artifact-every": { type: "string", description: "A 64 KB artifact every M steps per job, 0 for none (default 50)", valueHint: "M" },
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
      url: args.url,
      apiKeyFile: args["api-key-file"],
      workers: args.workers,
      directArtifacts: args["direct-artifacts"],
      maxRps: args["max-rps"],
      duration: args.duration,
      jobs: args.jobs,
      metrics: args.metrics,
      interval: args.interval,
      artifactEvery: args["artifact-every"],
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
