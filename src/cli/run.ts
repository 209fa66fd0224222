import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs } from "./_shared.ts";
import { RUN_HELP, runCommand } from "../run/command.ts";

export default defineCommand({
  meta: COMMANDS.run,
  args: {
    backend: { type: "string", description: `Backends, comma-separated: ${RUN_HELP.backends}, all (default: all)`, alias: "b" },
    workflow: { type: "string", description: "Workflows, comma-separated: cnn, lightning, ddp, sweep, checkpoint, scale, all (default: cnn; all with --profile full)", alias: "w" },
    mode: { type: "string", description: `How to reach every chosen backend (* = default): ${RUN_HELP.modes}; one a chosen backend lacks is exit 2` },
    url: { type: "string", description: `Verify an existing server at this URL (one backend): ${RUN_HELP.urls}` },
    "api-key-file": { type: "string", description: `With --url: a file holding the secret (never argv). ${RUN_HELP.credentials}`, valueHint: "FILE" },
    profile: { type: "string", description: "quick (default; cnn) | full (every workflow, larger sizes, clean and dirty git)" },
    timeout: { type: "string", description: "Deadline for each workflow process, or for the --script, in seconds (workflows: 300 quick, 1800 full, or 2 ms per point asked by --size points= where that is longer; a script: none)" },
    size: { type: "string", description: "Override workflow sizes, e.g. --size points=1000000,steps=50" },
    port: { type: "string", description: "Port for the native MLflow server (default: a free one)" },
    seed: { type: "string", description: "Random seed for the workflows (default: 0)" },
    device: { type: "string", description: "auto | cpu | cuda (default: auto)" },
    report: { type: "string", description: "Also write the JSON result to this file (atomically, kept on failure)", valueHint: "FILE" },
    script: { type: "string", description: "Run and verify your own script: a .py file or a command line (\"torchrun --nproc-per-node 2 train.py\"); arguments after -- go to it", valueHint: "PATH|COMMAND" },
    junit: { type: "string", description: "Write JUnit XML (a test case per backend x workflow x check group)", valueHint: "FILE" },
    markdown: { type: "string", description: "Write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY in GitHub Actions)", valueHint: "FILE" },
    "keep-work": { type: "boolean", description: "Keep the work folder (server logs, SDK files) after the run" },
    ...pythonArgs,
    ...jsonArgs,
  },
  run: ({ args }) =>
    runCommand({
      backend: args.backend,
      workflow: args.workflow,
      mode: args.mode,
      url: args.url,
      apiKeyFile: args["api-key-file"],
      profile: args.profile,
      size: args.size,
      timeout: args.timeout,
      port: args.port,
      seed: args.seed,
      device: args.device,
      python: args.python,
      assets: args.assets,
      keepWork: args["keep-work"],
      report: args.report,
      junit: args.junit,
      markdown: args.markdown,
      json: args.json,
      script: args.script,
      scriptArgs: args.script ? args._ : undefined,
    }),
});
