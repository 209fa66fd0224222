/**
 * The tracking SDK each backend's workflows log through: present, and of a version e2e supports?
 * Checked per backend when it starts, so a missing or too old SDK is that backend's error
 * (naming the fix) while the other backends run.
 */
import type { PythonEnv } from "../../runtime/python/env.ts";
import type { BackendName } from "../../verify/manifest.ts";
import { envError } from "../../util/errors.ts";
import { BACKENDS, descriptorOf } from "../registry.ts";

/** What python/requirements.txt pins, from the backend descriptors (a test keeps the two equal). */
export const PINNED = Object.fromEntries(BACKENDS.map((b) => [b.name, b.sdk.pinned])) as Record<BackendName, string>;

export function parseVersion(v: string): number[] {
  return (/^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim()) ?? []).slice(1).map((x) => Number(x ?? 0));
}

export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a), pb = parseVersion(b);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The SDK's version, or an error (exit code 3) naming the fix. */
export function assertSdk(name: BackendName, python: Pick<PythonEnv, "python" | "info">): string {
  const v = python.info.packages?.[name];
  const fix = `install it into that interpreter (${python.python} -m pip install ${name}==${PINNED[name]}), or drop --python to use e2e's own venv (e2e setup)`;
  if (!v) throw envError(`the ${name} SDK is not importable by ${python.python}`, fix);
  const parsed = parseVersion(v);
  if (!parsed.length) return v; // "?" from an odd build: let the workflow show what happens
  const s = descriptorOf(name).sdk.supported;
  if (compareVersions(v, s.min) < 0 || parsed[0]! >= s.belowMajor)
    throw envError(`${name} ${v} is not supported (e2e reads what ${name} >= ${s.min}, < ${s.belowMajor} writes; tested with ${PINNED[name]})`, fix);
  return v;
}
