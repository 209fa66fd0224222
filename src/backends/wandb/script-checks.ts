/**
 * What a W&B script stored beyond params, metrics, tags and run files, judged from the offline
 * run's `.wandb` log and the bytes W&B holds (reader.ts, stored.ts), against the recorder's
 * notes (expect.ts):
 * - objects.<artifact>/<path>: the artifact record of that name (the last one) has a manifest
 *   entry at path; a file entry's staged copy has the entry's size and md5 (W&B's digest) and
 *   the sha256 of the file the script added; a reference entry (add_reference) holds the URI
 *   (W&B stores the URI, not the referenced bytes: those are not fetched).
 * - media.<key>@<step>: the history row W&B wrote (_step) holds the value with its `_type`;
 *   an Image's file (row `path`) has a `files` record and bytes in files/ whose sha256 is the
 *   file the Image was built from, and the row's own sha256 agrees; a Table's row has its
 *   nrows/ncols and its JSON file is stored with the row's sha256; a Histogram's row holds the
 *   same bins and counts.
 * - objects.used:<artifact>:<version>: an artifact run.use_artifact returned is among the run's
 *   used artifacts as the server lists them (RunInputArtifacts: source sequence name, version
 *   index, digest, and the sequence's project when the script's process knew it). Offline W&B
 *   refuses use_artifact, so there it never reaches a check (the recorder notes the refusal).
 * By URL (GraphQL): artifacts from RunOutputArtifacts + ArtifactMembershipFiles (bytes downloaded,
 * md5 against the server's listing; a reference's URI from the version's manifest file,
 * FetchArtifactManifest), media from
 * the history rows and the run files, the summary from summaryMetrics.
 * - summaries.<key>: the final summary (the summary records, in order) holds the value W&B's
 *   rule gives: the last committed row's value unless set explicitly later (run.summary[k] = v).
 */
import type { Manifest } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { check, skip, type Check } from "../../verify/check.ts";
import type { WandbExpectedMedia, WandbUsedArtifact } from "./expect.ts";
import type { WandbArtifactVersion } from "./graphql.ts";
import type { StoredArtifact } from "./stored.ts";

type Media = { key: string; step: number | undefined; value: Record<string, unknown> };

export function wandbScriptChecks(manifest: Manifest, observed: Record<string, ObservedRun>, mode: "offline" | "url"): Check[] {
  const checks: Check[] = [];
  for (const run of manifest.runs) {
    const exp = run.wandb;
    if (!exp) continue;
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const obs = observed[run.key];
    if (!obs) continue; // the run check already failed
    checks.push(...summaryChecks(label, exp.summary, (obs.extra?.summary ?? {}) as Record<string, unknown>, mode));
    const stored = (obs.extra?.wandbArtifacts ?? []) as StoredArtifact[];
    for (const a of exp.artifacts) {
      const rec = stored.findLast((s) => s.name === a.name);
      for (const e of a.entries) {
        const name = `${label}${a.name}/${e.path}`;
        if (!rec) {
          checks.push(check("objects", name, false, `no artifact record ${a.name} in the .wandb log`, a.name, null));
          continue;
        }
        const got = rec.entries.find((x) => x.path === e.path);
        const noManifest = "ref" in e && mode === "url" && !rec.manifestRead;
        if (noManifest) {
          checks.push(skip("objects", name, "by URL the artifact's manifest file could not be read, and only it holds a reference's URI"));
        } else if (!got) {
          checks.push(check("objects", name, false, `artifact ${a.name} has no manifest entry ${e.path}`, e.path, rec.entries.map((x) => x.path)));
        } else if ("ref" in e) {
          const ok = got.ref === e.ref;
          checks.push(check("objects", name, ok, ok ? "reference recorded with its URI (W&B stores the URI, not the referenced bytes)" : "the entry's reference differs", e.ref, got.ref ?? null));
        } else {
          const ok = !got.problem && got.sha256 === e.sha256 && got.size === e.size;
          const why = got.problem ?? (got.sha256 !== e.sha256 ? "the staged copy's sha256 differs from the file the script added" : `size ${got.size} != ${e.size}`);
          checks.push(check("objects", name, ok, ok ? `${e.size} bytes: manifest entry, md5 digest and staged copy match the file added` : why, { size: e.size, sha256: e.sha256 }, { size: got.size, sha256: got.sha256 }));
        }
      }
    }
    for (const u of exp.used ?? []) checks.push(usedCheck(label, u, (obs.extra?.usedArtifacts ?? []) as WandbArtifactVersion[], mode));
    const media = (obs.extra?.media ?? []) as Media[];
    for (const m of exp.media) checks.push(mediaCheck(label, m, media.find((x) => x.key === m.key && x.step === m.step), obs));
  }
  return checks;
}

function usedCheck(label: string, u: WandbUsedArtifact, listed: WandbArtifactVersion[], mode: "offline" | "url"): Check {
  const name = `${label}used:${u.name}:${u.version}`;
  if (mode === "offline") return skip("objects", name, "offline W&B stores no artifact use (it refuses use_artifact); verified with --url");
  const where = (a: WandbArtifactVersion) => {
    const p = a.artifactSequence?.project;
    return p ? `${p.entity?.name ?? "?"}/${p.name}/` : "";
  };
  const ident = (a: WandbArtifactVersion) => `${where(a)}${a.artifactSequence?.name}:v${a.versionIndex}`;
  const sameProject = (a: WandbArtifactVersion) => {
    const p = a.artifactSequence?.project;
    return !p || ((u.project === undefined || p.name === u.project) && (u.entity === undefined || p.entity?.name === u.entity));
  };
  const got = listed.find((a) => a.artifactSequence?.name === u.name && `v${a.versionIndex}` === u.version && sameProject(a));
  const want = { artifact: `${u.entity && u.project ? `${u.entity}/${u.project}/` : ""}${u.name}:${u.version}`, digest: u.digest };
  if (!got)
    return check("objects", name, false, `the run's used artifacts (RunInputArtifacts) do not list ${want.artifact}`, want, listed.map(ident));
  const ok = got.digest === u.digest;
  return check("objects", name, ok, ok ? `listed among the run's used artifacts (RunInputArtifacts) with the digest use_artifact returned` : `the used artifact's digest differs from the one use_artifact returned`, want, { artifact: ident(got), digest: got.digest ?? null });
}

function summaryChecks(label: string, exp: Record<string, number | string>, summary: Record<string, unknown>, mode: "offline" | "url"): Check[] {
  const where = mode === "url" ? "summaryMetrics" : "the final summary (summary records)";
  return Object.entries(exp).map(([k, v]) => {
    const got = summary[k];
    const ok = got === v;
    return check("summaries", `${label}${k}`, ok, ok ? `${where} holds it (W&B's rule: last committed value, unless set explicitly later)` : got === undefined ? `summary ${k} is missing` : `summary ${k} differs`, v, got ?? null);
  });
}

function mediaCheck(label: string, m: WandbExpectedMedia, got: Media | undefined, obs: ObservedRun): Check {
  const name = `${label}${m.key}@${m.step}`;
  if (!got) return check("media", name, false, `no ${m.type} value ${m.key} in W&B's history row ${m.step}`, m.type, null);
  const v = got.value;
  if (v._type !== m.type) return check("media", name, false, `the row holds _type ${String(v._type)}`, m.type, v._type);
  const file = typeof v.path === "string" ? obs.artifacts[v.path] : undefined;
  switch (m.type) {
    case "image-file": {
      const ok = v.sha256 === m.sha256 && file?.sha256 === m.sha256;
      const why = !file ? `its file ${String(v.path)} is not stored (files record + files/)` : file.sha256 !== m.sha256 ? `the stored file ${String(v.path)} differs from the image handed over` : "the row's sha256 differs";
      return check("media", name, ok, ok ? `image ${String(v.path)} stored byte for byte (sha256), row _type image-file` : why, m.sha256, file?.sha256 ?? null);
    }
    case "table-file": {
      const shape = v.nrows === m.nrows && v.ncols === m.ncols;
      const ok = shape && !!file && file.sha256 === v.sha256;
      const why = !shape ? `the row says ${String(v.nrows)}x${String(v.ncols)}` : !file ? `its file ${String(v.path)} is not stored (files record + files/)` : "the stored table file differs from the row's sha256";
      return check("media", name, ok, ok ? `table ${m.nrows}x${m.ncols}, its JSON stored with the row's sha256` : why, { nrows: m.nrows, ncols: m.ncols }, { nrows: v.nrows, ncols: v.ncols });
    }
    case "histogram": {
      const same = (a: unknown, b: number[]) => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
      const ok = same(v.values, m.values) && same(v.bins, m.bins);
      return check("media", name, ok, ok ? `histogram: ${m.values.length} counts and ${m.bins.length} bin edges as logged` : "the row's histogram differs", { values: m.values.length, bins: m.bins.length }, { values: (v.values as unknown[] | undefined)?.length, bins: (v.bins as unknown[] | undefined)?.length });
    }
  }
}
