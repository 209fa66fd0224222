/**
 * The backend session and the verdict: a usage error raised inside any driver keeps its exit
 * code (2) instead of turning into a backend failure (4); the exit-code table of README is
 * decided by runVerdict alone.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKENDS } from "../backends/registry.ts";
import type { PythonEnv } from "../runtime/python/env.ts";
import { ExitCode } from "../util/errors.ts";
import { runVerdict, summarizeRun, type BackendResult } from "./result.ts";
import { BackendSession } from "./session.ts";

// The SDK versions are the pinned ones: the driver gets past its SDK check to its own input checks.
const python = { python: "/nonexistent/python", kind: "user", info: { packages: { mlflow: "3.17.2", wandb: "0.31.0", clearml: "2.1.12" } } } as unknown as PythonEnv;
// The environment wins over --api-key-file: none of it may leak in from the machine running the tests.
const SECRETS = BACKENDS.flatMap((b) => [...b.credentials.env, ...(b.credentials.fileEnv ? [b.credentials.fileEnv] : [])]);
let root = "";
const saved: Record<string, string | undefined> = {};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "e2e-session-test-"));
  for (const k of SECRETS) (saved[k] = process.env[k]), delete process.env[k];
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  for (const k of SECRETS) if (saved[k] !== undefined) process.env[k] = saved[k];
});

async function attempt(planned: BackendSession["planned"]): Promise<BackendResult> {
  const s = new BackendSession({ python, assetRoot: root, workRoot: root, session: "t" }, planned);
  {
    await using session = s;
    await session.guard(async () => void (await session.start()));
  }
  return s.result;
}

const verdict = (r: BackendResult) => runVerdict([r], summarizeRun([r])).exitCode;

describe("a usage error inside a driver is exit 2, for every backend", () => {
  for (const d of BACKENDS)
    test(`${d.name}: --mode url without --url`, async () => {
      const r = await attempt({ name: d.name, mode: "url" });
      expect(r.status).toBe("error");
      expect(r.error?.message).toContain("--mode url needs --url");
      expect(r.error?.exitCode).toBe(ExitCode.usage);
      expect(verdict(r)).toBe(ExitCode.usage);
    });
  for (const d of BACKENDS.filter((b) => b.credentials.file && !b.credentials.required))
    test(`${d.name}: by URL with an --api-key-file that does not exist, or holds no credentials`, async () => {
      const missing = await attempt({ name: d.name, mode: "url", url: "http://127.0.0.1:9", credentialsFile: join(root, "nope") });
      expect(missing.error?.message).toContain(`file ${join(root, "nope")}`);
      expect(verdict(missing)).toBe(ExitCode.usage);
      const empty = join(root, `${d.name}-empty`);
      await Bun.write(empty, "\n");
      const none = await attempt({ name: d.name, mode: "url", url: "http://127.0.0.1:9", credentialsFile: empty });
      expect(none.error?.message).toContain(`file ${empty} holds no`);
      expect(verdict(none)).toBe(ExitCode.usage);
    });
  for (const d of BACKENDS.filter((b) => b.credentials.file && b.credentials.required))
    test(`${d.name}: by URL with no credentials, and with an --api-key-file that does not exist`, async () => {
      // Nothing listens on port 9: the driver must refuse before it reaches the network.
      const none = await attempt({ name: d.name, mode: "url", url: "http://127.0.0.1:9" });
      expect(none.error?.message).toMatch(/^no (W&B API key|ClearML credentials)/);
      expect(verdict(none)).toBe(ExitCode.usage);
      const missing = await attempt({ name: d.name, mode: "url", url: "http://127.0.0.1:9", credentialsFile: join(root, "nope") });
      expect(missing.error?.message).toContain(`file ${join(root, "nope")}`);
      expect(verdict(missing)).toBe(ExitCode.usage);
    });
});

describe("runVerdict: README's exit-code table", () => {
  const ok: BackendResult = { backend: "mlflow", mode: "native", status: "passed", workflows: [{ workflow: "cnn", status: "passed", durationMs: 1, checks: [{ name: "a", group: "g", status: "pass", message: "" }] }] };
  const failed: BackendResult = { ...ok, status: "failed", workflows: [{ workflow: "cnn", status: "failed", durationMs: 1, checks: [{ name: "a", group: "g", status: "fail", message: "" }] }] };
  const down: BackendResult = { backend: "wandb", mode: "url", status: "error", error: { message: "x", exitCode: 4 }, workflows: [] };
  const usage: BackendResult = { ...down, error: { message: "no key", exitCode: 2 } };
  const env: BackendResult = { ...down, error: { message: "no SDK", exitCode: 3 } };
  const v = (...bs: BackendResult[]) => runVerdict(bs, summarizeRun(bs));
  test("0 passed, 1 a failed check, 4 a backend down, 2/3 bad input or environment first, 130 interrupted", () => {
    expect(v(ok)).toEqual({ status: "passed", exitCode: 0 });
    expect(v(failed)).toEqual({ status: "failed", exitCode: 1 });
    expect(v(ok, down)).toEqual({ status: "error", exitCode: 4 });
    expect(v(failed, down)).toEqual({ status: "error", exitCode: 1 });
    expect(v(failed, usage)).toEqual({ status: "error", exitCode: 2 });
    expect(v(ok, env, usage)).toEqual({ status: "error", exitCode: 2 });
    expect(v(ok, env)).toEqual({ status: "error", exitCode: 3 });
    expect(runVerdict([failed], summarizeRun([failed]), "SIGINT")).toEqual({ status: "interrupted", exitCode: 130 });
  });
});
