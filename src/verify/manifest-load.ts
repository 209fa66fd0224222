/**
 * Reads a workflow's manifest. A run that outgrew the adapter's inline limit keeps its points in a
 * binary file beside the manifest (python/e2e_track/points.py: little-endian float64 records of
 * key index, step, value, timestamp ms); they are read as a stream, straight into one Series
 * (columns) per key sized from the manifest's counts, so millions of points never exist as JSON
 * or as a JS object each. Only the records the manifest counts are read: points logged after its
 * last write (a crash) are not expected.
 */
import { open, readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import type { Manifest, ManifestRun } from "./manifest.ts";
import { SeriesBuilder, type Series } from "./series.ts";

const RECORD = 32;
const CHUNK = 1 << 20; // bytes read at a time (32768 records)

export async function loadManifest(path: string): Promise<Manifest> {
  const manifest = JSON.parse(await readFile(path, "utf8")) as Manifest;
  for (const run of manifest.runs ?? []) if (run.pointsFile) await loadPoints(run, dirname(path));
  return manifest;
}

/** Fills run.metrics with the points file's series (keys already inline keep theirs first). */
export async function loadPoints(run: ManifestRun, dir: string): Promise<void> {
  const pf = run.pointsFile!;
  const file = isAbsolute(pf.path) ? pf.path : join(dir, pf.path);
  const series = await readPointsFile(file, pf.keys, pf.counts);
  run.metrics = { ...run.metrics };
  pf.keys.forEach((k, i) => {
    if (run.metrics[k]) throw new Error(`manifest run ${run.key}: metric ${k} is both inline and in ${pf.path}`);
    run.metrics[k] = series[i]!;
  });
}

export async function readPointsFile(file: string, keys: string[], counts: number[]): Promise<Series[]> {
  const total = counts.reduce((n, c) => n + c, 0);
  const builders = counts.map((c) => new SeriesBuilder(Math.max(1, c)));
  const fh = await open(file, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    const dv = new DataView(buf.buffer);
    let read = 0; // records taken
    let carry = 0; // bytes of a partial record left at the start of buf
    while (read < total) {
      const { bytesRead } = await fh.read(buf, carry, CHUNK - carry, null);
      const have = carry + bytesRead;
      const whole = Math.min(Math.floor(have / RECORD), total - read);
      if (bytesRead === 0 && whole === 0) break;
      for (let r = 0; r < whole; r++) {
        const o = r * RECORD;
        const k = dv.getFloat64(o, true);
        const b = builders[k];
        if (!b || !Number.isInteger(k)) throw new Error(`${file}: record ${read + r} names key index ${k} of ${keys.length}`);
        b.push(dv.getFloat64(o + 8, true), dv.getFloat64(o + 16, true), dv.getFloat64(o + 24, true));
      }
      read += whole;
      carry = have - whole * RECORD;
      buf.copyWithin(0, whole * RECORD, have);
    }
    if (read < total) throw new Error(`${file} holds ${read} points, the manifest counts ${total}`);
  } finally {
    await fh.close();
  }
  const out = builders.map((b) => b.finish());
  out.forEach((s, i) => {
    if (s.length !== counts[i]) throw new Error(`${file}: ${s.length} points of ${keys[i]}, the manifest counts ${counts[i]}`);
  });
  return out;
}
