/** `e2e bundle create|install`: offline bundles for machines with no network. */
import { createBundle } from "../bundle/create.ts";
import { parseStacks } from "../bundle/images.ts";

export { STACKS_HELP } from "../bundle/images.ts";
import { installBundle } from "../bundle/install.ts";
import { ExitCode } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { printJson } from "../util/output.ts";

export async function bundleCreateCommand(a: { dir: string; platform?: string; pythonVersion?: string; images?: string; executable?: string; assets?: string; json?: boolean }): Promise<number> {
  const started = Date.now();
  const m = await createBundle({
    dir: a.dir,
    platform: a.platform,
    pythonVersion: a.pythonVersion,
    stacks: a.images ? parseStacks(a.images) : undefined,
    executable: a.executable,
    assets: a.assets,
    onProgress: (l) => log.info(l),
  });
  const bytes = m.files.reduce((n, f) => n + f.size, 0);
  if (a.json) printJson(m);
  else log.success(`bundle ${a.dir}: ${m.files.length} files, ${(bytes / 2 ** 20).toFixed(0)} MiB, in ${((Date.now() - started) / 1000).toFixed(0)} s; install it with \`e2e bundle install DIR\``);
  return ExitCode.ok;
}

export async function bundleInstallCommand(a: { dir: string; assets?: string; json?: boolean }): Promise<number> {
  const r = await installBundle(a.dir, { assets: a.assets, onProgress: (l) => log.info(l) });
  if (a.json) printJson({ python: r.env.python, info: r.env.info, images: r.images });
  else log.success(`bundle installed: Python ${r.env.info.python} at ${r.env.python}, torch ${r.env.info.torch?.version}${r.images.length ? `; images ${r.images.join(", ")}` : ""}`);
  return ExitCode.ok;
}
