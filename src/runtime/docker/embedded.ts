/**
 * The compose definitions shipped inside the program (assets/compose/*.yml, embedded as text by
 * `bun build --compile`), and loading a user-supplied compose file with the same parser.
 */
import clearmlYml from "../../../assets/compose/clearml.yml" with { type: "text" };
import mlflowYml from "../../../assets/compose/mlflow.yml" with { type: "text" };
import wandbYml from "../../../assets/compose/wandb.yml" with { type: "text" };
import { type Env, parseCompose, type StackDef, stackImages } from "./compose.ts";

export const EMBEDDED_COMPOSE = {
  mlflow: mlflowYml as string,
  clearml: clearmlYml as string,
  wandb: wandbYml as string,
} as const;

export type EmbeddedStackName = keyof typeof EMBEDDED_COMPOSE;

export const EMBEDDED_STACK_NAMES = Object.keys(EMBEDDED_COMPOSE) as EmbeddedStackName[];

/**
 * Parse an embedded stack with interpolation from `env` (default: process.env). Throws a
 * ComposeError for a missing required variable (the W&B license) unless `lenient`.
 */
export function loadEmbeddedStack(name: EmbeddedStackName, env: Env = process.env, opts: { lenient?: boolean } = {}): StackDef {
  const text = EMBEDDED_COMPOSE[name];
  if (typeof text !== "string") throw new Error(`compose: no embedded stack '${String(name)}' (known: ${EMBEDDED_STACK_NAMES.join(", ")})`);
  return parseCompose(text, { file: `assets/compose/${name}.yml`, env, lenient: opts.lenient ?? false });
}

/** The images an embedded stack uses under `env` (no license needed): for `e2e images save`. */
export function embeddedStackImages(name: EmbeddedStackName, env: Env = process.env): string[] {
  return stackImages(loadEmbeddedStack(name, env, { lenient: true }));
}

/** Parse a compose file from disk (a user's override of an embedded stack). */
export async function loadComposeFile(path: string, env: Env = process.env): Promise<StackDef> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new Error(`compose: ${path}: no such file`);
  return parseCompose(await file.text(), { file: path, env });
}
