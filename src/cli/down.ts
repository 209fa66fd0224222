import { defineCommand } from "citty";
import { COMMANDS } from "./meta.ts";
import { jsonArgs, printJson } from "./_shared.ts";
import { engineOrThrow } from "../runtime/docker/start.ts";
import { listSessions, reap, removeSession } from "../runtime/docker/reaper.ts";
import { log } from "../util/log.ts";

export default defineCommand({
  meta: COMMANDS.down,
  args: {
    session: { type: "string", description: "Remove this session's resources (from `e2e up --keep`)" },
    all: { type: "boolean", description: "Remove every e2e session's resources, kept ones and live ones included" },
    ...jsonArgs,
  },
  async run({ args }) {
    const { docker } = await engineOrThrow();
    const report = args.session
      ? { sessions: [args.session], ...(await removeSession(docker, args.session)) }
      : await reap(docker, { olderSessionsOnly: !args.all, includeKept: !!args.all });
    const left = await listSessions(docker);
    if (args.json) printJson({ removed: report, remaining: left.map((s) => s.id) });
    else {
      log.success(`removed ${report.containers.length} container(s), ${report.networks.length} network(s), ${report.volumes.length} volume(s) of ${report.sessions.length} session(s)`);
      if (left.length) log.info(`still there: ${left.map((s) => `${s.id} (${s.kept ? "kept" : s.owner})`).join(", ")}; --all removes them`);
    }
    return report.errors.length ? 4 : 0;
  },
});
