import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, pythonArgs, printJson } from "./_shared.ts";
import { diagnose, type Finding } from "../doctor/diagnose.ts";
import { log } from "../util/log.ts";

const mark: Record<Finding["status"], string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };

export default defineCommand({
  meta: COMMANDS.doctor,
  args: {
    ...pythonArgs,
    deep: { type: "boolean", description: "Probe the interpreter afresh (imports torch and the SDKs, asks CUDA) instead of reading its recorded probe" },
    ...jsonArgs,
  },
  async run({ args }) {
    const findings = await diagnose({ python: args.python, assets: args.assets, deep: args.deep });
    const failed = findings.some((f) => f.status === "fail");
    if (args.json) printJson({ ok: !failed, findings });
    else
      for (const f of findings)
        process.stderr.write(`${mark[f.status]}  ${f.name.padEnd(14)} ${f.message}${f.fix && f.status !== "ok" ? `\n      fix: ${f.fix}` : ""}\n`);
    if (!args.json) (failed ? log.error : log.success)(failed ? "some requirements are missing" : "ready");
    return failed ? 3 : 0;
  },
});
