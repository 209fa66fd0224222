/**
 * TEST DOUBLE of the MLflow tracking API: only the calls the bench's set-up and load make
 * (experiments/create, experiments/get-by-name, runs/create, runs/search by run name,
 * runs/log-batch), in memory, on 127.0.0.1, with scripted faults, so the bench's retry and error
 * accounting can be shown to fail for the right reason. A real MLflow server answers these faults
 * only under conditions a test cannot order (its SQLAlchemy pool timing out after 30 s under 15+
 * concurrent creates); the fault bodies are MLflow 3.17's own JSON.
 *
 * A fault is taken from the queue of its path, one per request:
 * - "pool-timeout": 400 BAD_REQUEST "QueuePool limit ... reached" (MLflow 3.17's answer when its
 *   connection pool runs dry; the transaction was rolled back: nothing is created),
 * - "committed-503": the request takes effect, then the answer is a 503 (a proxy's timeout after
 *   the server committed),
 * - "invalid": 400 INVALID_PARAMETER_VALUE (a real client error: never worth a retry),
 * - "unavailable": 503 TEMPORARILY_UNAVAILABLE, nothing created,
 * - "ok": no fault (to place one after some good answers).
 */
export type Fault = "pool-timeout" | "committed-503" | "invalid" | "unavailable" | "ok";

export interface MlflowFaultsDouble {
  url: string;
  /** Faults still to be served, by API path ("runs/create"). */
  faults: Map<string, Fault[]>;
  experiments: Map<string, string>;
  runs: { id: string; experimentId: string; name: string }[];
  /** Requests seen, by API path. */
  calls: Map<string, number>;
  stop(): void;
}

const POOL = "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/21/3o7r)";

export function startMlflowFaultsDouble(): MlflowFaultsDouble {
  const d: Omit<MlflowFaultsDouble, "url" | "stop"> = { faults: new Map(), experiments: new Map(), runs: [], calls: new Map() };
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const path = u.pathname.replace(/^\/api\/2\.0\/mlflow\//, "");
      d.calls.set(path, (d.calls.get(path) ?? 0) + 1);
      const body = req.method === "POST" ? ((await req.json()) as Record<string, unknown>) : {};
      const fault = d.faults.get(path)?.shift();
      if (fault === "pool-timeout") return json({ error_code: "BAD_REQUEST", message: POOL }, 400);
      if (fault === "invalid") return json({ error_code: "INVALID_PARAMETER_VALUE", message: "Invalid value for parameter 'experiment_id'" }, 400);
      if (fault === "unavailable") return json({ error_code: "TEMPORARILY_UNAVAILABLE", message: "(sqlite3.OperationalError) database is locked" }, 503);
      let answer: Response;
      if (path === "experiments/create") {
        const id = String(d.experiments.size + 1);
        d.experiments.set(id, String(body.name));
        answer = json({ experiment_id: id });
      } else if (path === "experiments/get-by-name") {
        const hit = [...d.experiments].find(([, n]) => n === u.searchParams.get("experiment_name"));
        answer = hit ? json({ experiment: { experiment_id: hit[0], name: hit[1], lifecycle_stage: "active" } }) : json({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "not found" }, 404);
      } else if (path === "runs/create") {
        const run = { id: crypto.randomUUID().replace(/-/g, ""), experimentId: String(body.experiment_id), name: String(body.run_name) };
        d.runs.push(run);
        answer = json({ run: { info: { run_id: run.id, run_name: run.name, experiment_id: run.experimentId, artifact_uri: `mlflow-artifacts:/${run.experimentId}/${run.id}/artifacts` }, data: {} } });
      } else if (path === "runs/search") {
        const name = /^attributes\.run_name = '(.*)'$/.exec(String(body.filter ?? ""))?.[1];
        const ids = (body.experiment_ids as string[]) ?? [];
        const hits = d.runs.filter((r) => ids.includes(r.experimentId) && (name === undefined || r.name === name));
        answer = json({ runs: hits.map((r) => ({ info: { run_id: r.id, run_name: r.name, experiment_id: r.experimentId }, data: {} })) });
      } else if (path === "runs/log-batch") answer = json({});
      else answer = json({ error_code: "ENDPOINT_NOT_FOUND", message: `no ${path} in this double` }, 404);
      return fault === "committed-503" ? json({ error_code: "TEMPORARILY_UNAVAILABLE", message: "upstream timed out" }, 503) : answer;
    },
  });
  return { ...d, url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
