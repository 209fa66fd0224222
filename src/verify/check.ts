/** One verdict about one fact, with the evidence for it. */
export interface Check {
  /** Dotted name: "<group>.<what>", e.g. "metrics.history:loss", "artifacts.bytes:model.pt". */
  name: string;
  /** Group used by the summary table and JUnit: params, metrics, artifacts, git, tags, tensorboard... */
  group: string;
  status: "pass" | "fail" | "skip";
  expected?: unknown;
  actual?: unknown;
  message: string;
}

export const pass = (group: string, name: string, message: string, expected?: unknown, actual?: unknown): Check => ({
  name: `${group}.${name}`, group, status: "pass", expected, actual, message,
});

export const fail = (group: string, name: string, message: string, expected?: unknown, actual?: unknown): Check => ({
  name: `${group}.${name}`, group, status: "fail", expected, actual, message,
});

export const skip = (group: string, name: string, message: string): Check => ({
  name: `${group}.${name}`, group, status: "skip", message,
});

/** A check that passes when `ok`, else fails; expected/actual kept either way. */
export const check = (group: string, name: string, ok: boolean, message: string, expected?: unknown, actual?: unknown): Check =>
  ok ? pass(group, name, message, expected, actual) : fail(group, name, message, expected, actual);
