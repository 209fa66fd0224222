/**
 * What a W&B script handed the SDK beyond params, metrics, tags and run files, as the recorder
 * notes it (python/e2e_record/e2e_recorder/sdk_wandb.py): the run's "wandb" entry, checked
 * against the offline run's `.wandb` log by script-checks.ts.
 */
export interface WandbExpectations {
  /** run.log_artifact: each artifact and what add_file/add_dir/add_reference handed it. */
  artifacts: { name: string; type: string; entries: WandbExpectedEntry[] }[];
  /** Media values of run.log, with W&B's row (_step) they went to. */
  media: WandbExpectedMedia[];
  /** The final summary of numeric keys by W&B's rule (last committed value, explicit sets). */
  summary: Record<string, number | string>;
  /** run.use_artifact: each artifact it returned, by its source (W&B resolves an alias or a link to it). */
  used?: WandbUsedArtifact[];
}

/** An artifact version a run used, as RunInputArtifacts lists it (artifactSequence, versionIndex, digest). */
export interface WandbUsedArtifact {
  name: string;
  /** "v<versionIndex>". */
  version: string;
  digest: string;
  type: string;
  entity?: string;
  project?: string;
}

export type WandbExpectedEntry = { path: string; sha256: string; size: number } | { path: string; ref: string };

export type WandbExpectedMedia =
  | { key: string; step: number; type: "image-file"; sha256: string; size: number }
  | { key: string; step: number; type: "table-file"; nrows: number; ncols: number }
  | { key: string; step: number; type: "histogram"; values: number[]; bins: number[] };

export const emptyWandbExpectations = (): WandbExpectations => ({ artifacts: [], media: [], summary: {} });

/** Merges one process's entry into the run's (a resumed run, several processes). */
export function mergeWandbExpectations(into: WandbExpectations, add: Partial<WandbExpectations>): WandbExpectations {
  into.artifacts.push(...(add.artifacts ?? []));
  into.media.push(...(add.media ?? []));
  Object.assign(into.summary, add.summary ?? {});
  if (add.used?.length) (into.used ??= []).push(...add.used);
  return into;
}
