/**
 * `e2e bench`: plan, start each target in turn, measure, and keep the result document current on
 * disk (atomically, after every stage) so an interrupted run leaves what it measured.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { assetRoot } from "../assets/bundle.ts";
import { ensurePython } from "../runtime/python/env.ts";
import { interrupted, onTeardown } from "../runtime/lifecycle.ts";
import { E2EError, ExitCode, verdictExitCode } from "../util/errors.ts";
import { makeWorkDir } from "../util/fs.ts";
import { log, scrub } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { printJson } from "../util/output.ts";
import { compare, describeRegressions, kneeChangeText, kneesLost, loadBaseline } from "./baseline.ts";
import { Reporters } from "../report/reporter.ts";
import { benchReporters } from "./bench-reporters.ts";
import { benchEnvironment, type ServerInfo } from "./environment.ts";
import type { FleetSeries } from "./fleet.ts";
import { runMlflowSuite, runSinkSuite, type SuiteContext } from "./http-suite.ts";
import { cleanRemote, openRemote, type RemoteMlflow } from "./remote.ts";
import { openRemoteBench, type RemoteBench } from "./remote-bench.ts";
import { estimateSeconds, makeBenchPlan, type BenchArgs, type SdkTarget } from "./plan.ts";

export { BENCH_HELP } from "./plan.ts";
import { figureId, type Figure } from "./figure.ts";
import { BENCH_RESULT_SCHEMA, ratiosOf, type BenchResult } from "./result.ts";
import { runSdkTarget, sdkFigures, sdkTargetOf } from "./sdk.ts";
import { startDocker, startNative, type BenchServer } from "./servers.ts";
import { startSink } from "./sink.ts";
import { ceilingOf } from "./ceiling.ts";
import { directArtifactFigures } from "./direct-artifacts.ts";
import { formatValue } from "./sizes.ts";
import { describeFault, stageErrorMessage } from "./faults.ts";

export interface BenchCommandArgs extends BenchArgs {
  json?: boolean;
  report?: string;
  html?: string;
  markdown?: string;
  ghBench?: string;
  keepWork?: boolean;
}

export async function benchCommand(a: BenchCommandArgs): Promise<number> {
  const plan = makeBenchPlan(a);
  const baseline = plan.baseline ? await loadBaseline(plan.baseline) : undefined;
  // A server by URL is checked first: unreachable or read-only stops here, before any load.
  const remote: RemoteMlflow | undefined = plan.url && plan.backends[0] === "mlflow" ? await openRemote(plan.url, plan.apiKeyFile) : undefined;
  if (remote) onTeardown("bench clean-up", async () => void (await cleanRemote(remote.client, remote.created).catch(() => {})));
  const other: RemoteBench | undefined = plan.url && plan.backends[0] !== "mlflow" ? await openRemoteBench(plan.backends[0]!, plan.url, plan.apiKeyFile) : undefined;
  if (other) onTeardown("bench clean-up", async () => void (await other.clean().catch(() => {})));
  const assets = await assetRoot(plan.assets);
  const python = plan.sdkTargets.length === 0 ? undefined : await ensurePython({ python: plan.python, assets: plan.assets, onProgress: (l) => log.info(l) });
  const workRoot = await makeWorkDir(`e2e-bench-${randomBytes(3).toString("hex")}`, !!a.keepWork);
  const servers: ServerInfo[] = [];
  const started = Date.now();
  const r: BenchResult = {
    schema: BENCH_RESULT_SCHEMA, e2eVersion: VERSION, status: "running", profile: plan.profile, startedAt: new Date(started).toISOString(),
    estimatedSeconds: estimateSeconds(plan), environment: benchEnvironment(python, servers), figures: [], scalability: [], fleet: [], ratios: [], errors: [],
  };
  for (const rs of [remote, other]) if (rs) {
    servers.push(rs.info);
    r.environment = benchEnvironment(python, servers);
  }
  const reporters = new Reporters(benchReporters({ ...a, workRoot }));
  r.reportErrors = reporters.failures;
  const save = async (final = false) => {
    r.ratios = ratiosOf(r.figures);
    r.ceiling = ceilingOf(r.figures);
    r.durationMs = Date.now() - started;
    await (final ? reporters.end(r) : reporters.workflowEnd(r));
  };
  // Runs after the servers' teardowns (registered later, run first): Ctrl-C, or an error that
  // ends the run, still writes every output with what was measured.
  const offInterrupted = onTeardown("bench result", async () => {
    r.status = interrupted() ? "interrupted" : "error";
    r.finishedAt = new Date().toISOString();
    await save(true).catch(() => {});
  });

  const variants = plan.mlflowModes.includes("native") ? plan.workers.slice(1) : [];
  const targets = 1 + (plan.url ? 1 : 0) + plan.mlflowModes.length + variants.length + (plan.directArtifacts ? 1 : 0) + plan.sdkTargets.filter((t) => t.backend !== "mlflow").length;
  const mins = (s: number) => (s < 90 ? `${s} s` : `${Math.round(s / 60)} min`);
  log.info(`e2e bench ${plan.profile}: ${targets} stages (harness ceiling, ${[...(plan.url ? [`${plan.backends[0]} at ${plan.url}`] : []), ...plan.mlflowModes.map((m) => `mlflow ${m}${m === "native" && plan.workers[0] !== 1 ? ` (${plan.workers[0]} workers)` : ""}`), ...variants.map((w) => `mlflow native ${w} workers (load figures)`), ...(plan.directArtifacts ? ["mlflow native with a direct artifact store (artifact figures)"] : []), ...plan.backends.filter((b) => b !== "mlflow").map((b) => `${b} offline`)].join(", ")}); estimated ${mins(r.estimatedSeconds)} on this machine`);
  let stageNo = 0;
  const ctxFor = (target: SuiteContext["target"]): SuiteContext => ({
    target, url: "", plan,
    ...(plan.maxRps ? { pace: plan.maxRps } : {}),
    fleet: (f: FleetSeries) => void r.fleet.push(f),
    figure: (f) => {
      r.figures.push(f);
      log.info(`  ${describe(f)}`);
    },
    progress: (m) => log.info(`  ${target}: ${m}`),
    error: (stage, err) => {
      const message = scrub(stageErrorMessage(err));
      r.errors.push({ target, stage, message });
      log.warn(`${target} ${stage}: ${message}`);
    },
    retried: (what, attempt, err) => {
      const message = scrub(describeFault(err));
      (r.retries ??= []).push({ target, what, attempt, message });
      log.warn(`${target} ${what}: attempt ${attempt} failed (${message}); sending it again`);
    },
  });
  const stage = async (title: string, fn: () => Promise<void>) => {
    log.start(`[${++stageNo}/${targets}] ${title} (${mins(Math.round((Date.now() - started) / 1000))} elapsed)`);
    await fn();
    await save();
  };
  const sdk = async (t: SdkTarget, trackingUri?: string) => {
    const ctx = ctxFor(sdkTargetOf(t));
    if (!python) return;
    try {
      const out = await runSdkTarget({ python: python.python, script: join(assets.root, "python", "bench", "sdk_bench.py"), target: t, plan, work: workRoot, trackingUri, onProgress: (l) => log.debug(`  ${t.backend}/${t.mode}: ${l}`) });
      for (const f of sdkFigures(t, out, plan)) ctx.figure(f);
    } catch (err) {
      if (interrupted()) throw err;
      ctx.error(`sdk ${t.mode}`, err);
    }
  };

  await stage("harness ceiling: loopback sink", async () => {
    const sink = await startSink();
    try {
      const s = await runSinkSuite({ ...ctxFor("harness"), url: sink.url }, sink.rawPort);
      if (s) r.scalability.push(s);
    } finally {
      await sink.stop();
    }
  });
  if (remote)
    await stage(`MLflow at ${plan.url}`, async () => {
      const ctx = ctxFor("mlflow-url");
      log.info(`  MLflow ${remote.info.version} at ${plan.url} (${remote.info.store}); everything in throwaway experiments, removed afterwards`);
      try {
        const s = await runMlflowSuite({ ...ctx, url: plan.url!, client: remote.client, created: remote.created });
        if (s) r.scalability.push(s);
      } catch (err) {
        if (interrupted()) throw err;
        ctx.error("suite", err);
      } finally {
        const c = await cleanRemote(remote.client, remote.created);
        r.cleanup = c;
        remote.created.experiments.length = remote.created.runs.length = remote.created.artifacts.length = 0;
        log.info(`  removed ${c.experiments} experiment(s), ${c.runs} run(s), ${c.artifacts} artifact file(s) from the server (${c.remains})`);
        for (const f of c.failures) ctx.error("clean-up", new Error(f));
      }
    });
  if (other)
    await stage(`${other.title} at ${plan.url}`, async () => {
      const ctx = ctxFor(other.target);
      log.info(`  ${other.title} ${other.info.version ?? "(version not reported)"} at ${plan.url}; everything in a throwaway project, removed afterwards`);
      if (other.info.testDouble) log.warn(`${plan.url} answers as e2e's test double (tests/doubles/), not a ${other.title} server: its figures measure the double`);
      try {
        await other.run(ctx);
      } catch (err) {
        if (interrupted()) throw err;
        ctx.error("suite", err);
      } finally {
        const c = await other.clean();
        r.cleanup = c;
        log.info(`  removed ${c.experiments} project(s), ${c.runs} ${other.title === "ClearML" ? "task" : "run"}(s), ${c.artifacts} file(s) from the server (${c.remains})`);
        for (const f of c.failures) ctx.error("clean-up", new Error(f));
      }
    });
  if (plan.sdkTargets.length) await stage("untracked training process (baseline)", () => sdk({ backend: "none", mode: "offline" }));
  // A server with more than 1 worker: its figures carry workers=N (1 worker keeps the ids --baseline knows).
  const withWorkers = (ctx: SuiteContext, workers: number): SuiteContext =>
    workers === 1 ? ctx : {
      ...ctx,
      figure: (f: Figure) => {
        f.params = { ...f.params, workers };
        f.id = figureId(f.target, f.name, f.params);
        ctx.figure(f);
      },
      fleet: (s: FleetSeries) => ctx.fleet?.({ ...s, workers }),
    };
  const mlflowStage = (mode: "native" | "docker", workers: number, loadOnly: boolean) =>
    stage(`MLflow ${mode}${workers === 1 ? "" : `, ${workers} workers`}${loadOnly ? " (load figures)" : ""}`, async () => {
      const ctx = withWorkers(ctxFor(mode === "native" ? "mlflow-native" : "mlflow-docker"), workers);
      let server: BenchServer;
      try {
        server = mode === "native" ? await startNative(python!.python, workRoot, workers) : await startDocker(assets.root);
      } catch (err) {
        if (interrupted()) throw err;
        return ctx.error("start", err);
      }
      try {
        servers.push(server.info);
        r.environment = benchEnvironment(python, servers);
        log.info(`  MLflow ${server.info.version ?? "?"} at ${server.url} (${server.info.store}, ${server.info.workers ?? 1} worker(s))`);
        const s = await runMlflowSuite({ ...ctx, url: server.url, loadOnly });
        if (s) r.scalability.push(workers === 1 ? s : { ...s, workers });
        if (mode === "native" && !loadOnly) for (const t of plan.sdkTargets.filter((x) => x.backend === "mlflow")) await sdk(t, server.url);
        for (const f of await server.memory()) ctx.figure(f);
      } catch (err) {
        if (interrupted()) throw err;
        ctx.error("suite", err);
      } finally {
        await server.stop();
      }
    });
  for (const mode of plan.mlflowModes) await mlflowStage(mode, mode === "native" ? plan.workers[0]! : 1, false);
  for (const w of variants) await mlflowStage("native", w, true);
  if (plan.directArtifacts)
    await stage("MLflow native, direct artifact store (--no-serve-artifacts; artifact figures)", async () => {
      const ctx = ctxFor("mlflow-native");
      let server: BenchServer;
      try {
        server = await startNative(python!.python, workRoot, 1, true);
      } catch (err) {
        if (interrupted()) throw err;
        return ctx.error("start (direct artifacts)", err);
      }
      try {
        servers.push(server.info);
        r.environment = benchEnvironment(python, servers);
        log.info(`  MLflow ${server.info.version ?? "?"} at ${server.url} (${server.info.store})`);
        await directArtifactFigures({ ...ctx, url: server.url });
      } catch (err) {
        if (interrupted()) throw err;
        ctx.error("direct artifacts", err);
      } finally {
        await server.stop();
      }
    });
  for (const t of plan.sdkTargets.filter((x) => x.backend === "wandb" || x.backend === "clearml"))
    await stage(`${t.backend} offline (SDK)`, () => sdk(t));

  offInterrupted();
  r.status = "complete";
  r.finishedAt = new Date().toISOString();
  if (baseline) r.comparison = compare(baseline, r.figures, plan.maxRegression);
  await save(true);
  if (r.comparison && (r.comparison.regressions.length || kneesLost(r.comparison).length)) throw new E2EError(describeRegressions(r.comparison), `compare with ${plan.baseline}; a noisy machine may need a larger --max-regression`, ExitCode.checksFailed);
  if (r.comparison) log.success(`baseline: ${r.comparison.compared} figures compared, none regressed beyond ${(plan.maxRegression * 100).toFixed(0)}%${(r.comparison.knees ?? []).map((k) => `; ${k.id} ${kneeChangeText(k)}`).join("")}`);
  return verdictExitCode({ errors: r.errors.map(() => ExitCode.backend) });
}

function describe(f: Figure): string {
  const p = Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(",");
  const head = `${f.target} ${f.name}${p ? `[${p}]` : ""}: ${formatValue(f.value, f.unit)}`;
  return f.samples > 1 ? `${head} (p99 ${formatValue(f.spread.p99, f.unit)}, max ${formatValue(f.spread.max, f.unit)}, n=${f.samples})` : head;
}
