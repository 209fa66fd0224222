/**
 * The wheelhouse: every pinned package and every dependency as a wheel for the target platform
 * and Python, fetched with the host's pip (`pip download`, binary only). The same pip settings
 * the user has apply, so a local wheel (torch's CPU build in a --find-links folder) is taken
 * as pip would take it for an install.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { envError, usageError } from "../util/errors.ts";
import { tempRoot } from "../util/paths.ts";
import { spawnManaged } from "../runtime/process.ts";
import { pipTargetArgs, type PipTarget } from "./platform.ts";

export interface DownloadOptions {
  requirements: string;
  dest: string;
  target: PipTarget;
  /** pip's full output goes here. */
  logFile: string;
  onProgress?: (line: string) => void;
}

/** The pinned requirement lines (comments and blanks dropped), for the manifest. */
export async function requirementLines(path: string): Promise<string[]> {
  return (await readFile(path, "utf8")).split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
}

/** A pip to run: the host python's, or one in a throwaway venv when the host python has none. */
async function hostPip(): Promise<{ argv: string[]; cleanup: () => Promise<void> }> {
  const python = process.env.E2E_BASE_PYTHON || "python3";
  if (spawnSync(python, ["-m", "pip", "--version"]).status === 0) return { argv: [python, "-m", "pip"], cleanup: async () => {} };
  const dir = await mkdtemp(join(tempRoot(), "e2e-pip-"));
  const r = spawnSync(python, ["-m", "venv", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw envError(`no pip: ${python} has no pip module and cannot make a venv`, "install python3-pip or python3-venv", r.stderr);
  }
  return { argv: [join(dir, "bin", "python"), "-m", "pip"], cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function downloadWheels(o: DownloadOptions): Promise<void> {
  const pip = await hostPip();
  try {
    const argv = [...pip.argv, "download", "--disable-pip-version-check", "--progress-bar", "off", ...pipTargetArgs(o.target), "-r", o.requirements, "-d", o.dest];
    const p = spawnManaged(argv, {
      name: "pip download",
      logFile: o.logFile,
      onStdoutLine: (line) => {
        const m = /^(Collecting|Processing)\s*(.*)/.exec(line.trim());
        if (m) o.onProgress?.(`${m[1]} ${m[2]}`.slice(0, 120));
      },
    });
    const code = await p.exited;
    if (code !== 0) {
      const out = await readFile(o.logFile, "utf8").catch(() => "");
      // No candidate for the target shows as either message (the second when a constraint file is set).
      const missing = (/No matching distribution found for (\S+)/.exec(out) ?? /Cannot install (\S+?),? because/.exec(out))?.[1];
      const where = `${o.target.platform} / Python ${o.target.pythonVersion}`;
      if (missing)
        throw usageError(
          `no wheel of ${missing} that pip can use for ${where}`,
          `pick another --platform or --python-version (torch 2.13 ships manylinux_2_28 wheels only), or add a --find-links folder holding it to pip's config; pip's output: ${o.logFile}`,
        );
      const why = out.trim().split("\n").reverse().find((l) => /error/i.test(l)) ?? `exit code ${code}`;
      throw envError(`pip download failed: ${why.trim()}`, `read ${o.logFile}; this step needs the package index (run it on a connected machine)`, out.trim().split("\n").slice(-15).join("\n"));
    }
  } finally {
    await pip.cleanup();
  }
}
