/**
 * The records written by python/e2e_record (one `record-<pid>.json` per process that logged)
 * and their merge into a Manifest: the expectation for a user's script.
 *
 * Merge rules: runs are keyed by (SDK, run id) across processes (two ranks logging into one
 * MLflow run are one run); metric points are concatenated and ordered by timestamp; params,
 * tags and artifacts are unioned (a later write wins); W&B rows still pending in a process (W&B
 * writes them when the run ends) count as logged. A run's status is FINISHED only when some
 * process ended it so.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackendName, Manifest, ManifestArtifact, ManifestRun, MetricPoint } from "../verify/manifest.ts";

export interface RecordedRun {
  sdk: BackendName;
  runId: string;
  name?: string;
  project?: string;
  group?: string;
  experiment?: string;
  trackingUri?: string;
  offlinePath?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, MetricPoint[]>;
  /** W&B: points of a row not yet committed when the record was written. */
  pending?: Record<string, MetricPoint[]>;
  artifacts: ManifestArtifact[];
  status: ManifestRun["status"];
}

export interface ProcessRecord {
  schema: 1;
  pid: number;
  ppid: number;
  argv: string[];
  rank: string | null;
  exit: { kind: "exit" | "exception" | "signal"; error?: string; signal?: string } | null;
  sdks: Partial<Record<BackendName, string>>;
  calls: Record<string, number>;
  runs: RecordedRun[];
  unverified: { sdk: BackendName; call: string; what: string; count: number }[];
  errors: { where: string; error: string }[];
}

export interface MergedRecords {
  processes: ProcessRecord[];
  /** Every run, whichever SDK. */
  runs: (ManifestRun & { sdk: BackendName; trackingUri?: string })[];
  unverified: ProcessRecord["unverified"];
  errors: { pid: number; where: string; error: string }[];
  /** Records that could not be read (a process killed mid-write leaves none, not half a file). */
  unreadable: string[];
  /** SDK -> calls seen, summed over processes. */
  calls: Partial<Record<BackendName, Record<string, number>>>;
}

export async function readRecords(dir: string): Promise<{ records: ProcessRecord[]; unreadable: string[] }> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^record-\d+\.json$/.test(n)).sort();
  const records: ProcessRecord[] = [];
  const unreadable: string[] = [];
  for (const n of names) {
    try {
      records.push(JSON.parse(await readFile(join(dir, n), "utf8")) as ProcessRecord);
    } catch (err) {
      unreadable.push(`${n}: ${(err as Error).message}`);
    }
  }
  return { records, unreadable };
}

export function mergeRecords(records: ProcessRecord[], unreadable: string[] = []): MergedRecords {
  const byKey = new Map<string, MergedRecords["runs"][number]>();
  const unverified = new Map<string, ProcessRecord["unverified"][number]>();
  const calls: MergedRecords["calls"] = {};
  const errors: MergedRecords["errors"] = [];
  for (const rec of [...records].sort((a, b) => a.pid - b.pid)) {
    for (const [name, n] of Object.entries(rec.calls ?? {})) {
      const [sdk, call] = splitOnce(name, ":");
      const c = (calls[sdk as BackendName] ??= {});
      c[call] = (c[call] ?? 0) + n;
    }
    for (const u of rec.unverified ?? []) {
      const k = `${u.sdk}\0${u.call}\0${u.what}`;
      const prev = unverified.get(k);
      unverified.set(k, prev ? { ...prev, count: prev.count + u.count } : { ...u });
    }
    for (const e of rec.errors ?? []) errors.push({ pid: rec.pid, ...e });
    for (const r of rec.runs ?? []) {
      const k = `${r.sdk}\0${r.runId}`;
      let m = byKey.get(k);
      if (!m) {
        m = { key: "", sdk: r.sdk, runId: r.runId, name: r.name ?? r.runId, params: {}, tags: {}, metrics: {}, artifacts: [], status: "RUNNING" };
        byKey.set(k, m);
      }
      if (r.name) m.name = r.name;
      for (const f of ["project", "group", "experiment", "offlinePath", "trackingUri"] as const) if (r[f]) m[f] = r[f];
      Object.assign(m.params, r.params);
      Object.assign(m.tags, r.tags);
      for (const src of [r.metrics, r.pending ?? {}])
        for (const [key, pts] of Object.entries(src)) (m.metrics[key] ??= []).push(...pts);
      for (const a of r.artifacts) m.artifacts = [...m.artifacts.filter((x) => x.path !== a.path), a];
      if (r.status === "FINISHED" || m.status === "RUNNING") m.status = r.status;
    }
  }
  const runs = [...byKey.values()];
  for (const r of runs) for (const pts of Object.values(r.metrics)) pts.sort((a, b) => a[2] - b[2]);
  // Check labels: the run's name, made unique with its id when two runs share one.
  const names = runs.map((r) => r.name);
  for (const r of runs) r.key = names.filter((n) => n === r.name).length > 1 ? `${r.name}@${r.runId.slice(0, 8)}` : r.name;
  return { processes: records, runs, unverified: [...unverified.values()], errors, unreadable, calls };
}

/** The manifest for one backend: the runs logged through that backend's SDK. */
export function manifestFor(merged: MergedRecords, backend: BackendName): Manifest {
  const env: Record<string, string | number | boolean | null> = { processes: merged.processes.length };
  for (const p of merged.processes) for (const [sdk, v] of Object.entries(p.sdks ?? {})) env[sdk] = v ?? null;
  return {
    schema: 1,
    backend,
    workflow: "script",
    environment: env,
    runs: merged.runs.filter((r) => r.sdk === backend).map(({ sdk: _sdk, trackingUri: _uri, ...run }) => run),
  };
}

export const pointCount = (runs: ManifestRun[]) => runs.reduce((n, r) => n + Object.values(r.metrics).reduce((m, p) => m + p.length, 0), 0);

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}
