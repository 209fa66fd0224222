/**
 * ClearML by URL: the tasks a workflow created, counted on the server (src/verify/census.ts).
 * The manifest run's task is read first for the project and name ClearML holds for it; then
 * tasks.get_all lists every task of that project with that name (an exact-match pattern, as the
 * SDK's Task.get_tasks sends it; archived tasks included, as there by default), page by page.
 * A rank that opened its own task through the tracker would carry the same name, so it is counted.
 */
import type { Census } from "../../verify/census.ts";
import type { Manifest } from "../../verify/manifest.ts";
import type { ClearmlRest } from "./rest.ts";

export function clearmlCensus(rest: ClearmlRest): Census {
  return async (manifest: Manifest) => {
    const main = manifest.runs[0];
    if (!main) throw new Error("the manifest has no run");
    const task = await rest.task(main.runId);
    if (!task.project) throw new Error(`task ${main.runId} belongs to no project`);
    const name = task.name ?? main.name;
    const tasks = await rest.tasksNamed(task.project, name);
    const project = (await rest.projectName(task.project)) ?? task.project;
    return { where: `tasks.get_all in project ${project} for name ${name}`, ids: tasks.map((t) => t.id) };
  };
}
