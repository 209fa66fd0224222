/**
 * What a ClearML script handed the SDK beyond params, scalars and files, as the recorder notes it
 * (python/e2e_record/e2e_recorder/sdk_clearml.py): the run's "clearml" entry, checked against the
 * offline session by script-checks.ts.
 */
export interface ClearmlExpectations {
  /** Logger.report_single_value: name -> value (NaN/Inf as 0.0, as ClearML stores them). */
  summaries: Record<string, number>;
  /** Logger.report_text messages, in order. */
  texts: string[];
  /** task.connect_configuration: name -> the text ClearML stores (dict as its HOCON text, a file as read). */
  configurations: Record<string, { type: "dictionary" | "file"; text: string }>;
  /** Logger.report_image: the bytes ClearML uploads (a file as is, an array as ClearML encodes it). */
  images: { title: string; series: string; iteration: number; sha256: string; size: number; source: "file" | "array" }[];
  /** task.upload_artifact of an object: what ClearML serialises, compared after the same serialisation. */
  objects: ClearmlObject[];
  /** OutputModel.update_weights: the weights file, and whether the SDK stored it or raised. */
  models: { name: string; file: string; sha256: string; size: number; stored: boolean; error: string | null }[];
}

export type ClearmlObject =
  | { name: string; type: "dict"; file: string; sha256: string; size: number }
  | { name: string; type: "pandas"; file: string; sha256: string; size: number }
  | { name: string; type: "numpy"; file: string; member: string; sha256: string; size: number }
  | { name: string; type: "archive"; file: string; files: Record<string, { sha256: string; size: number }> };

export const emptyExpectations = (): ClearmlExpectations => ({ summaries: {}, texts: [], configurations: {}, images: [], objects: [], models: [] });

/** Merges one process's entry into the run's (several processes may log to one task). */
export function mergeExpectations(into: ClearmlExpectations, add: Partial<ClearmlExpectations>): ClearmlExpectations {
  Object.assign(into.summaries, add.summaries ?? {});
  into.texts.push(...(add.texts ?? []));
  Object.assign(into.configurations, add.configurations ?? {});
  into.images.push(...(add.images ?? []));
  for (const o of add.objects ?? []) into.objects = [...into.objects.filter((x) => x.name !== o.name), o];
  into.models.push(...(add.models ?? []));
  return into;
}
