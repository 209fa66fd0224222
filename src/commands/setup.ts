/** `e2e setup`: create (or check) the Python environment, from an index, a wheelhouse or a bundle. */
import { installBundle } from "../bundle/install.ts";
import { ensurePython } from "../runtime/python/env.ts";
import { ExitCode, usageError } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { printJson } from "../util/output.ts";

export async function setupCommand(a: { python?: string; assets?: string; wheelhouse?: string; bundle?: string; json?: boolean }): Promise<number> {
  if (a.bundle && (a.python || a.wheelhouse)) throw usageError("--bundle cannot be combined with --python or --wheelhouse", "the bundle brings its own wheels");
  const env = a.bundle
    ? (await installBundle(a.bundle, { assets: a.assets, onProgress: (l) => log.info(l) })).env
    : await ensurePython({ python: a.python, wheelhouse: a.wheelhouse, assets: a.assets, onProgress: (l) => log.info(l) });
  const t = env.info.torch;
  if (a.json) printJson({ python: env.python, kind: env.kind, info: env.info });
  else
    log.success(`Python ${env.info.python} at ${env.python} (${env.kind === "venv" ? "e2e venv" : "your interpreter"}); torch ${t?.version} (CUDA build ${t?.cudaVersion ?? "none"}; each workflow reports the device it ran on, \`e2e doctor --deep\` checks CUDA now)`);
  return ExitCode.ok;
}
