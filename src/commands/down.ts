/** `e2e down`: remove e2e's Docker resources (dead sessions, one session, or all); exit 4 if some could not be removed. */
import { engineOrThrow } from "../runtime/docker/start.ts";
import { listSessions, reap, removeSession } from "../runtime/docker/reaper.ts";
import { ExitCode } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { printJson } from "../util/output.ts";

export async function downCommand(a: { session?: string; all?: boolean; json?: boolean }): Promise<number> {
  const { docker } = await engineOrThrow();
  const report = a.session
    ? { sessions: [a.session], ...(await removeSession(docker, a.session)) }
    : await reap(docker, { olderSessionsOnly: !a.all, includeKept: !!a.all });
  const left = await listSessions(docker);
  if (a.json) printJson({ removed: report, remaining: left.map((s) => s.id) });
  else {
    log.success(`removed ${report.containers.length} container(s), ${report.networks.length} network(s), ${report.volumes.length} volume(s) of ${report.sessions.length} session(s)`);
    if (left.length) log.info(`still there: ${left.map((s) => `${s.id} (${s.kept ? "kept" : s.owner})`).join(", ")}; --all removes them`);
  }
  return report.errors.length ? ExitCode.backend : ExitCode.ok;
}
