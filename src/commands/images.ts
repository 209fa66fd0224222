/** `e2e images save|load`: move Docker images to a machine with no registry. */
import { resolve } from "node:path";
import { loadTarball, parseStacks, saveStacks } from "../bundle/images.ts";

export { STACKS_HELP } from "../bundle/images.ts";
import { ExitCode } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { printJson } from "../util/output.ts";

export async function imagesSaveCommand(a: { file: string; stack: string; json?: boolean }): Promise<number> {
  const r = await saveStacks(resolve(a.file), parseStacks(a.stack));
  if (a.json) printJson({ file: resolve(a.file), ...r });
  else log.success(`saved ${r.images.join(", ")} to ${a.file} (${(r.bytes / 2 ** 20).toFixed(0)} MiB)`);
  return ExitCode.ok;
}

export async function imagesLoadCommand(a: { file: string; json?: boolean }): Promise<number> {
  const images = await loadTarball(resolve(a.file));
  if (a.json) printJson({ images });
  else log.success(`loaded ${images.join(", ") || "(no tagged images)"}`);
  return ExitCode.ok;
}
