/**
 * The compose stacks shipped inside the program: each backend's descriptor carries its
 * assets/compose/<stack>.yml as text (embedded by `bun build --compile`). Also loading a
 * user-supplied compose file with the same parser.
 */
import { BACKENDS } from "../../backends/registry.ts";
import { type Env, parseCompose, type StackDef, stackImages } from "./compose.ts";

/** Stack name -> compose text, from the descriptors (the one list of backends). */
const EMBEDDED_COMPOSE: ReadonlyMap<string, string> = new Map(BACKENDS.flatMap((b) => (b.compose ? [[b.compose.stack, b.compose.yml] as const] : [])));

/** A stack's name, as in `e2e up --backend` and `e2e images save --stack`. */
export type EmbeddedStackName = string;

export const EMBEDDED_STACK_NAMES: readonly EmbeddedStackName[] = [...EMBEDDED_COMPOSE.keys()];

/**
 * Parse an embedded stack with interpolation from `env` (default: process.env). Throws a
 * ComposeError for a missing required variable (the W&B license) unless `lenient`.
 */
export function loadEmbeddedStack(name: EmbeddedStackName, env: Env = process.env, opts: { lenient?: boolean } = {}): StackDef {
  const text = EMBEDDED_COMPOSE.get(name);
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
