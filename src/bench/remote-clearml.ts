/**
 * `e2e bench --url URL --backend clearml`: a ClearML server (URL: its API server), through the
 * calls a training job's SDK makes (clearml 2.1, backend_api v2.23 schemas):
 * - `tasks.create {name, type: "training", project}` (Task.init), `tasks.get_by_id {task}`;
 * - `events.add_batch`: one training step's scalars as json-lines (`Content-Type:
 *   application/json-lines`, one `training_stats_scalar` event per line: task, metric, variant,
 *   iter, value, timestamp), as Session.send_request_batch sends them;
 * - the fileserver: a multipart POST whose field is the target path (the SDK's _HttpDriver), the
 *   GET of the same path back.
 * Keys come from CLEARML_API_ACCESS_KEY/SECRET_KEY or the --api-key-file (as `e2e run --url`),
 * registered for redaction. Everything lives in a throwaway project; afterwards the fileserver
 * files are deleted, then each task (`tasks.delete {force}`, which removes its events), then the
 * project (`projects.delete {force}`).
 */
import { randomBytes } from "node:crypto";
import { clearmlKeys } from "../backends/deployment/credentials.ts";
import { explainHttpFailure, httpFailure } from "../backends/deployment/http.ts";
import { CLEARML_CREDENTIALS_HINT, clearmlHosts } from "../backends/clearml/rest.ts";
import { backendError, formatError } from "../util/errors.ts";
import { redact } from "../util/log.ts";
import { fleetFigures, type SuiteContext } from "./http-suite.ts";
import { retrying } from "./faults.ts";
import type { CleanupReport } from "./remote.ts";
import { creating, eachLimited, latencyFigure, loggingFigures, send, TEST_DOUBLE_HEADER, transferFigures, type RemoteBench } from "./remote-bench.ts";

export async function openClearmlBench(url: string, keyFile?: string): Promise<RemoteBench> {
  const keys = clearmlKeys(keyFile);
  const hosts = clearmlHosts(url);
  const ctxErr = { backend: "ClearML", url: hosts.api, credentialsHint: CLEARML_CREDENTIALS_HINT };
  /** The apiserver's envelope message, beside the HTTP status, for the one-line error. */
  const explain = (err: unknown, doing: string) => {
    const e = explainHttpFailure(err, { ...ctxErr, doing });
    let msg: string | undefined;
    try {
      msg = (JSON.parse(httpFailure(err).body) as { meta?: { result_msg?: string } }).meta?.result_msg;
    } catch {}
    return msg && !e.message.includes(msg) ? backendError(`${e.message}: ${msg}`, e.hint) : e;
  };

  let testDouble = false;
  try {
    // debug.ping needs no credentials: anything ClearML at this URL?
    testDouble = (await send(`${hosts.api}/debug.ping`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).headers.has(TEST_DOUBLE_HEADER);
  } catch (err) {
    throw explain(err, "debug.ping");
  }
  let token: string;
  try {
    const { text } = await send(`${hosts.api}/auth.login`, { method: "POST", headers: { "content-type": "application/json", authorization: `Basic ${btoa(`${keys.accessKey}:${keys.secretKey}`)}` }, body: "{}" });
    token = (JSON.parse(text) as { data?: { token?: string } }).data?.token ?? "";
  } catch (err) {
    throw explain(err, "auth.login");
  }
  if (!token) throw backendError(`ClearML at ${hosts.api}: auth.login returned no token`, "check that --url is the API server (port 8008), not the web UI");
  redact(token);
  const bearer = { authorization: `Bearer ${token}` };
  const call = async <T>(endpoint: string, body: Record<string, unknown>): Promise<T> => {
    const { text } = await send(`${hosts.api}/${endpoint}`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify(body) });
    return (JSON.parse(text) as { data: T }).data;
  };
  const info = await call<{ version?: string; api_version?: string }>("server.info", {}).catch(() => undefined);

  const project = `e2e-bench-${randomBytes(3).toString("hex")}`;
  let projectId: string | undefined;
  const tasks: string[] = [];
  const files: string[] = [];
  // Set-up retries before run() has its context are kept and reported when it starts.
  let retried: NonNullable<SuiteContext["retried"]> | undefined;
  const early: [string, number, unknown][] = [];
  const note = (what: string) => (n: number, err: unknown) => (retried ? retried(what, n, err) : early.push([what, n, err]));
  /** An exact-name pattern: get_all matches `name` as a regular expression. */
  const exactly = (name: string) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
  /**
   * A set-up create, sent again on a transient failure (faults.ts). Creating is not idempotent:
   * the project's name is unique on the server and each task's name is unique in the throwaway
   * project, so before each retry the bench looks the name up (get_all) and, found, uses that one
   * (the failed attempt took effect) instead of making a second. A duplicate can still arise when
   * a failed attempt commits after that look-up; it lies in the same throwaway project, removed
   * with the rest. The timed tasks.create of api.tasks_create.latency is not retried.
   */
  const createProject = () => retrying(() => call<{ id: string }>("projects.create", { name: project, description: "e2e bench: throwaway, deleted when the bench ends" }).then((d) => d.id), {
    retried: note(`projects.create ${project}`),
    tookEffect: async () => (await call<{ projects?: { id: string }[] }>("projects.get_all", { name: exactly(project), only_fields: ["id"] }).catch(() => undefined))?.projects?.[0]?.id,
  });
  const setUpTask = async (name: string) => {
    const id = await retrying(() => call<{ id: string }>("tasks.create", { name, type: "training", project: projectId }).then((d) => d.id), {
      retried: note(`tasks.create ${name}`),
      tookEffect: async () => (await call<{ tasks?: { id: string }[] }>("tasks.get_all", { project: [projectId], name: exactly(name), only_fields: ["id"] }).catch(() => undefined))?.tasks?.[0]?.id,
    });
    tasks.push(id);
    return id;
  };
  try {
    projectId = await createProject();
    await setUpTask("probe");
  } catch (err) {
    const e = explain(err, `the creation of a throwaway project ${project} (the bench writes there)`);
    if (projectId) await call("projects.delete", { project: projectId, force: true, delete_contents: true }).catch(() => {});
    throw e;
  }
  const newTask = async (name: string) => {
    const id = (await call<{ id: string }>("tasks.create", { name, type: "training", project: projectId })).id;
    tasks.push(id);
    return id;
  };
  /** One training step: K scalar events in one events.add_batch (json-lines). */
  const addBatch = (task: string, keys: number, iter: number) => {
    const ts = Date.now();
    const lines = Array.from({ length: keys }, (_, i) => JSON.stringify({ type: "training_stats_scalar", task, timestamp: ts, iter, metric: "train", variant: `m${i}`, value: (iter % 1000) / 1000 + i }));
    return send(`${hosts.api}/events.add_batch`, { method: "POST", headers: { ...bearer, "content-type": "application/json-lines" }, body: lines.join("\n") });
  };
  const folder = `${project}/bench.${randomBytes(4).toString("hex")}`;
  const upload = async (path: string, body: Uint8Array) => {
    const name = `${folder}/${path}`;
    const form = new FormData();
    form.append(name, new Blob([body]), name);
    await send(`${hosts.files}/`, { method: "POST", body: form, headers: bearer });
    files.push(`${hosts.files}/${name}`);
  };

  return {
    title: "ClearML",
    target: "clearml-url",
    info: {
      target: "clearml-url",
      ...(info?.version ? { version: info.version } : {}),
      workersVisible: false,
      store: [
        testDouble ? "e2e's ClearML test double (tests/doubles/clearml-server-double.ts), not a ClearML server: these figures measure the double" : "ClearML server",
        `API level ${info?.api_version ?? "not reported"}`,
        `fileserver ${hosts.files}`,
      ].join(", "),
      ...(testDouble ? { testDouble: true } : {}),
    },
    run: async (ctx: SuiteContext) => {
      const stage = async (name: string, fn: () => Promise<void>) => fn().catch((err) => ctx.error(name, err));
      retried = (what, n, err) => ctx.retried?.(what, n, err);
      for (const [what, n, err] of early.splice(0)) retried(what, n, err);
      let n = 0;
      await stage("tasks.create", async () =>
        void (await latencyFigure(ctx, "api.tasks_create.latency", creating(ctx.plan.api), () => newTask(`create-${n++}`), "tasks.create of a training task (Task.init); every task deleted afterwards")));
      await loggingFigures(ctx, "http.events_add_batch", "one training step of K scalar events per events.add_batch (json-lines), as the SDK's reporter sends it", async (k) => {
        const task = await setUpTask(`log-${k}`);
        return (step) => addBatch(task, k, step);
      });
      await stage("tasks.get_by_id", async () => {
        const task = tasks[tasks.length - 1]!;
        await latencyFigure(ctx, "api.tasks_get_by_id.latency", ctx.plan.api, () => call("tasks.get_by_id", { task }), "tasks.get_by_id of a task with scalars");
      });
      await stage("artifacts", () => transferFigures(ctx, "fileserver: multipart POST up (as the SDK's _HttpDriver), GET down; sha256 checked after the clock stopped",
        (path, body) => upload(path, body),
        async (path) => {
          const res = await fetch(`${hosts.files}/${folder}/${path}`, { headers: bearer });
          if (!res.ok) throw new Error(`HTTP ${res.status} downloading ${path}`);
          return new Uint8Array(await res.arrayBuffer());
        }));
      await stage("fleet", () => fleetFigures(ctx, async (i) => {
        const task = await setUpTask(`job-${i}`);
        const body = ctx.plan.fleet.artifactEvery ? randomBytes(ctx.plan.fleet.artifactBytes) : undefined;
        // A job's iterations go on across load steps (each step counts from 0), as a training job's do.
        let iter = 0;
        return {
          log: () => addBatch(task, ctx.plan.fleet.keys, iter++).then(() => {}),
          ...(body ? { artifact: (step: number) => upload(`fleet/${task}/ckpt-${step}.bin`, body) } : {}),
        };
      }));
    },
    clean: async (): Promise<CleanupReport> => {
      const failures: string[] = [];
      const fs = files.splice(0);
      const ts = tasks.splice(0);
      const artifacts = await eachLimited(fs, 16, (u) => send(u, { method: "DELETE", headers: bearer }).then(() => {}), (u, err) => failures.push(`file ${u}: ${formatError(err).slice(0, 160)}`));
      const runs = await eachLimited(ts, 16, (task) => call("tasks.delete", { task, force: true }).then(() => {}), (t, err) => failures.push(`task ${t}: ${formatError(err).slice(0, 160)}`));
      let projects = 0;
      if (projectId) {
        const id = projectId;
        projectId = undefined;
        try {
          await call("projects.delete", { project: id, force: true });
          projects = 1;
        } catch (err) {
          failures.push(`project ${project}: ${formatError(err).slice(0, 160)}`);
        }
      }
      return { experiments: projects, runs, artifacts, failures, remains: "tasks deleted with tasks.delete (force; their events go with them), the project with projects.delete, the fileserver files with DELETE" };
    },
  };
}
