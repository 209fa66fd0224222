/**
 * W&B by URL: the runs a workflow created, counted on the server (src/verify/census.ts). The
 * manifest run is read first for the group and display name W&B holds for it; then the project's
 * runs in that group or with that name are listed with the public API's Runs query and its
 * MongoDB-style filters (as `Api.runs(path, filters={"$or": [...]})` sends them). A rank that
 * opened its own run through the tracker would carry the same name and group, so it is counted.
 */
import type { Census } from "../../verify/census.ts";
import type { Manifest } from "../../verify/manifest.ts";
import { backendError } from "../../util/errors.ts";
import type { WandbGraphql } from "./graphql.ts";

export function wandbCensus(gql: WandbGraphql, entity: string): Census {
  return async (manifest: Manifest) => {
    const main = manifest.runs[0];
    if (!main) throw new Error("the manifest has no run");
    const project = main.project ?? main.experiment ?? "e2e";
    const run = await gql.run(entity, project, main.runId);
    if (!run) throw backendError(`W&B has no run ${entity}/${project}/${main.runId}`, "check the entity (WANDB_ENTITY) and that the workflow logged to this server");
    const name = run.displayName || main.name;
    const group = run.group || undefined;
    const filters = group ? { $or: [{ group }, { display_name: name }] } : { display_name: name };
    const runs = await gql.runs(entity, project, filters);
    return { where: `Runs query in ${entity}/${project} for group ${group ?? "(none)"} or name ${name}`, ids: runs.map((r) => r.name) };
  };
}
