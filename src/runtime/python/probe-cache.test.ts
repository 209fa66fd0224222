import { afterEach, expect, test } from "bun:test";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readProbe, writeProbe } from "./probe-cache.ts";
import type { PythonInfo } from "./probe.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setup() {
  const d = await mkdtemp(join(tmpdir(), "e2e-probe-cache-"));
  dirs.push(d);
  const exe = join(d, "python3");
  writeFileSync(exe, "interpreter");
  const site = join(d, "site-packages");
  mkdirSync(site);
  const info: PythonInfo = { executable: exe, python: "3.11.0", packages: { torch: "1" }, missing: [], paths: [site] };
  const file = join(d, "probe.json");
  await writeProbe(file, exe, info, {});
  return { d, exe, site, file, info };
}

test("a record holds while its key holds", async () => {
  const { exe, file, info } = await setup();
  expect(await readProbe(file, exe, {})).toEqual(info);
});

test("an interpreter with a new mtime is probed again", async () => {
  const { exe, file } = await setup();
  utimesSync(exe, new Date(), new Date(Date.now() + 5000));
  expect(await readProbe(file, exe, {})).toBeUndefined();
});

test("a package added to a sys.path folder, or other import variables, invalidate the record", async () => {
  const { exe, site, file } = await setup();
  expect(await readProbe(file, exe, { PYTHONPATH: "/elsewhere" })).toBeUndefined();
  await new Promise((r) => setTimeout(r, 20));
  mkdirSync(join(site, "torch-2.dist-info"));
  expect(await readProbe(file, exe, {})).toBeUndefined();
});

test("another executable's record is not used", async () => {
  const { d, file } = await setup();
  const other = join(d, "python3.12");
  writeFileSync(other, "x");
  expect(await readProbe(file, other, {})).toBeUndefined();
});
