/** `e2e doctor`: what is present, what is missing, and how to fix it; exit 3 when something is missing. */
import { diagnose, type Finding } from "../doctor/diagnose.ts";
import { ExitCode } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { printJson } from "../util/output.ts";

const mark: Record<Finding["status"], string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };

export async function doctorCommand(a: { python?: string; assets?: string; deep?: boolean; json?: boolean }): Promise<number> {
  const findings = await diagnose({ python: a.python, assets: a.assets, deep: a.deep });
  const failed = findings.some((f) => f.status === "fail");
  if (a.json) printJson({ ok: !failed, findings });
  else {
    for (const f of findings)
      process.stderr.write(`${mark[f.status]}  ${f.name.padEnd(14)} ${f.message}${f.fix && f.status !== "ok" ? `\n      fix: ${f.fix}` : ""}\n`);
    (failed ? log.error : log.success)(failed ? "some requirements are missing" : "ready");
  }
  return failed ? ExitCode.environment : ExitCode.ok;
}
