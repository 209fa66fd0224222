/**
 * Test utility: rewrites a ClearML offline session zip the way a damaged or incomplete store would
 * look (an event dropped, a value changed, a byte flipped), for tests that alter the backend's data
 * and never the manifest. The edit is Python, run with `files` (entry -> bytes), `events(name)` (a
 * .jsonl entry as its lines, each a list of events: ClearML writes one batch per line) and
 * `put_events(name, batches)` in scope; `json` and `zipfile` are imported. Used by
 * clearml-verdicts.test.ts and mutations.test.ts.
 */
import { spawnSync } from "node:child_process";

const PROLOGUE = `
import json, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    files = {i.filename: z.read(i.filename) for i in z.infolist()}
def events(name):
    lines = [json.loads(l) for l in files[name].decode().splitlines() if l.strip()]
    return [l if isinstance(l, list) else [l] for l in lines]
def put_events(name, batches):
    files[name] = "".join(json.dumps(b) + "\\n" for b in batches).encode()
`;

const EPILOGUE = `
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for n, b in files.items():
        z.writestr(n, b)
`;

/** Writes `src` edited by `edit` to `dst` (which may be `src` itself: the zip is read whole first). */
export function rewriteSession(python: string, src: string, dst: string, edit: string): void {
  const r = spawnSync(python, ["-c", `${PROLOGUE}\n${edit}\n${EPILOGUE}`, src, dst], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rewriting the session ${src} failed: ${r.stderr}`);
}
