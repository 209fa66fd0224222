import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** The user's cache folder for e2e: unpacked assets and Python venvs live here. */
export function cacheDir(): string {
  if (process.env.E2E_CACHE_DIR) return process.env.E2E_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "e2e");
}

export const tempRoot = () => process.env.E2E_TMPDIR || tmpdir();
