/**
 * Which wheels a wheelhouse must hold: the pip target (platform tags, Python version, ABI) for
 * `pip download`. A manylinux_2_N tag stands for every older glibc baseline too, so it expands
 * to the whole ladder (pip expands only the legacy names): torch 2.13 ships manylinux_2_28 only
 * while matplotlib ships manylinux2014, and a bundle needs both.
 */
import { spawnSync } from "node:child_process";
import { usageError } from "../util/errors.ts";

export interface PipTarget {
  /** As the user gave it (or the default), for the manifest. */
  platform: string;
  /** Every tag passed to pip as --platform, newest first. */
  platforms: string[];
  /** "3.11" */
  pythonVersion: string;
}

const LEGACY: Record<string, number> = { manylinux2014: 17, manylinux2010: 12, manylinux1: 5 };
const LEGACY_OF: Record<number, string> = { 17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1" };

/** The tags a platform covers. manylinux_2_28_x86_64 -> 2_28 ... 2_17, manylinux2014, ..., manylinux1. */
export function expandPlatform(platform: string): string[] {
  const legacy = /^(manylinux2014|manylinux2010|manylinux1)_(\w+)$/.exec(platform);
  const modern = /^manylinux_2_(\d+)_(\w+)$/.exec(platform);
  if (!legacy && !modern) return [platform];
  const glibc = legacy ? LEGACY[legacy[1]!]! : Number(modern![1]);
  const arch = (legacy ?? modern)![2]!;
  const out: string[] = [];
  for (let minor = glibc; minor >= 5; minor--) {
    out.push(`manylinux_2_${minor}_${arch}`);
    if (LEGACY_OF[minor]) out.push(`${LEGACY_OF[minor]}_${arch}`);
  }
  return out;
}

/** The default platform for the machine we run on (a bundle is usually for a twin of it). */
export function defaultPlatform(os: string = process.platform, arch: string = process.arch): string {
  const a = arch === "arm64" ? "aarch64" : arch === "x64" ? "x86_64" : arch;
  if (os === "linux") return `manylinux_2_28_${a}`;
  if (os === "darwin") return `macosx_11_0_${arch === "arm64" ? "arm64" : "x86_64"}`;
  throw usageError(`no default wheel platform for ${os}/${arch}`, "pass --platform, e.g. manylinux_2_28_x86_64");
}

/** "3.11" from the host's python3 (or E2E_BASE_PYTHON), the interpreter the venv will be made with. */
export function hostPythonVersion(python = process.env.E2E_BASE_PYTHON || "python3"): string | undefined {
  const r = spawnSync(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function pipTarget(opts: { platform?: string; pythonVersion?: string }): PipTarget {
  const pythonVersion = opts.pythonVersion ?? hostPythonVersion();
  if (!pythonVersion) throw usageError("no python3 found to take the Python version from", "pass --python-version 3.11");
  if (!/^3\.\d{1,2}$/.test(pythonVersion)) throw usageError(`--python-version ${pythonVersion} is not MAJOR.MINOR`, "e.g. --python-version 3.11");
  const platform = opts.platform ?? defaultPlatform();
  if (!/^[a-z0-9_]+$/.test(platform)) throw usageError(`--platform ${platform} is not a wheel platform tag`, "e.g. manylinux_2_28_x86_64, macosx_11_0_arm64");
  return { platform, platforms: expandPlatform(platform), pythonVersion };
}

/** The `pip download` arguments that select wheels for this target (binary only: no builds). */
export function pipTargetArgs(t: PipTarget): string[] {
  const abi = `cp${t.pythonVersion.replace(".", "")}`;
  return [
    "--only-binary=:all:",
    ...t.platforms.flatMap((p) => ["--platform", p]),
    "--python-version", t.pythonVersion,
    "--implementation", "cp",
    "--abi", abi,
  ];
}
