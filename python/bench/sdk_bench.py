"""Per-step cost of logging through each tracking SDK, the way users log, beside a training loop.

Run by `e2e bench` once per (backend, mode), each in its own process so peak memory is its own:

  python sdk_bench.py --backend none|mlflow|wandb|clearml --mode sync|async|buffered|offline
                      --steps N --keys K --blocks B --block-steps S --budget-s T --work DIR
                      [--tracking-uri URL]

Phases, in one process:
  1. per-step log latency: up to N calls (one per step, K metrics each), each timed on its own,
     so the p99 and max keep the spikes of a reporter flushing (an average would hide them);
     past T seconds it stops once it has 100 samples (a slow synchronous SDK);
  2. overhead, side by side: up to B rounds of S plain training steps, then S training steps each
     followed by one log call (at least 3 rounds, then until T seconds); the ratio is the median
     tracked step over the median plain one;
  3. finish: ending the run (MLflow async queue drain, wandb.finish, ClearML close), timed.
Peak RSS is VmHWM of this process; the baseline is the same script with --backend none.
The result is one line on stdout: `E2E_BENCH {json}`; samples are in milliseconds.
"""
import argparse
import json
import os
import sys
import time


def vm(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def progress(phase, done, total):
    print(f"E2E_PROGRESS {json.dumps({'phase': phase, 'done': done, 'total': total})}", flush=True)


class NoTracking:
    def log(self, values, step):
        pass

    def flush(self):
        pass

    def finish(self):
        pass


class Mlflow:
    def __init__(self, uri, mode, work):
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("e2e-bench-sdk")
        self.run = mlflow.start_run(run_name=f"sdk-{mode}")
        self.run_id = self.run.info.run_id
        self.sync = mode == "sync"

        # Async diagnostics: when each queued batch reached the server (its future completed),
        # the queue's depth after each call, and the caller thread's CPU time inside the call.
        self.flushed_ms = []
        self.queue_depth = []
        self.call_cpu_ms = []
        self.calls = 0

    def _queue(self):
        from mlflow.tracking._tracking_service.utils import _get_store

        return getattr(_get_store(), "_async_logging_queue", None)

    # Logged to the active run, without run_id=, the way users log: MLflow 3.17's fluent
    # log_metrics(run_id=...) fetches the run (a blocking GET runs/get) on every call, in async
    # mode too, which made async no faster than sync (docs/benchmarks.md).
    def log(self, values, step):
        if self.sync:
            self.mlflow.log_metrics(values, step=step, synchronous=True)
            return
        t = time.perf_counter_ns()
        c = time.thread_time_ns()
        ops = self.mlflow.log_metrics(values, step=step, synchronous=False)
        self.call_cpu_ms.append((time.thread_time_ns() - c) / 1e6)
        for fut in getattr(ops, "_operation_futures", []) or []:
            fut.add_done_callback(lambda _f, t=t: self.flushed_ms.append((time.perf_counter_ns() - t) / 1e6))
        self.calls += 1
        # Batches handed to the SDK whose request has not completed yet: MLflow's queue hands
        # them on to a thread pool at once, so its own qsize() stays near 0 while this grows.
        self.queue_depth.append(self.calls - len(self.flushed_ms))

    def flush(self):
        if not self.sync:
            self.mlflow.flush_async_logging()

    def diagnostics(self):
        if self.sync:
            return {}
        q = self._queue()
        import threading

        return {"asyncEngaged": bool(q is not None and q.is_active()), "flushedMs": list(self.flushed_ms),
                "queueDepth": list(self.queue_depth), "callCpuMs": list(self.call_cpu_ms),
                "threads": threading.active_count(),
                "bufferSeconds": os.environ.get("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS")}

    def finish(self):
        self.mlflow.end_run()  # waits for queued async logging


class Wandb:
    def __init__(self, work):
        import wandb

        self.run = wandb.init(mode="offline", dir=work, project="e2e-bench-sdk", name="sdk")

    def log(self, values, step):
        self.run.log(values, step=step)

    def flush(self):
        pass  # offline: each call hands the record to wandb's service process

    def finish(self):
        self.run.finish()


class Clearml:
    """Offline, isolated in the work folder with python/e2e_track's settings."""

    def __init__(self, work):
        # The adapter's own isolation (sibling package in the embedded python/ folder).
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from e2e_track.backend_clearml import isolate

        isolate(work, offline=True)
        from clearml import Task

        Task.set_offline(True)
        self.task = Task.init(project_name="e2e-bench-sdk", task_name="sdk", reuse_last_task_id=False,
                              auto_connect_frameworks=False, auto_resource_monitoring=False)
        self.logger = self.task.get_logger()

    def log(self, values, step):
        for k, v in values.items():
            self.logger.report_scalar(title=k, series=k, value=v, iteration=step)

    def flush(self):
        self.logger.flush()

    def finish(self):
        self.task.close()


def tracker(args):
    if args.backend == "none":
        return NoTracking()
    if args.backend == "mlflow":
        return Mlflow(args.tracking_uri, args.mode, args.work)
    if args.backend == "wandb":
        return Wandb(args.work)
    if args.backend == "clearml":
        return Clearml(args.work)
    raise SystemExit(f"unknown backend {args.backend}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backend", required=True)
    p.add_argument("--mode", default="sync")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--keys", type=int, default=4)
    p.add_argument("--blocks", type=int, default=10)
    p.add_argument("--block-steps", type=int, default=20)
    p.add_argument("--work", required=True)
    p.add_argument("--tracking-uri")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget-s", type=float, default=30.0)
    args = p.parse_args()

    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 256)
    y = torch.randint(0, 10, (64,))
    lossf = torch.nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(20):
        train_step()
    rss_before = vm("VmRSS")
    t0 = time.perf_counter()
    tr = tracker(args)
    init_ms = (time.perf_counter() - t0) * 1e3
    keys = [f"m{i}" for i in range(args.keys)]
    out = {"backend": args.backend, "mode": args.mode, "keys": args.keys, "initMs": init_ms,
           "rssBeforeTrackingBytes": rss_before, "threads": args.threads}

    # 1. per-step log latency; the phase's wall clock and the flush after it give the throughput
    # over wall clock (points logged / time until they were all handed over).
    lat = []
    perf = time.perf_counter_ns
    deadline = time.monotonic() + args.budget_s
    phase_start = perf()
    for step in range(args.steps):
        if step >= 100 and time.monotonic() > deadline:
            break
        values = {k: 0.5 + (step % 97) * 0.001 + i for i, k in enumerate(keys)}
        t = perf()
        tr.log(values, step)
        lat.append((perf() - t) / 1e6)
        if step % 200 == 0:
            progress("log", step, args.steps)
    out["logLatencyMs"] = lat
    out["logPhaseMs"] = (perf() - phase_start) / 1e6
    t = perf()
    tr.flush()
    out["flushMs"] = (perf() - t) / 1e6
    if hasattr(tr, "diagnostics"):
        out["async"] = tr.diagnostics() or None

    # 2. overhead, side by side
    plain, tracked = [], []
    step = args.steps
    deadline = time.monotonic() + args.budget_s
    for b in range(args.blocks):
        if b >= 3 and time.monotonic() > deadline:
            break
        for _ in range(args.block_steps):
            t = perf()
            train_step()
            plain.append((perf() - t) / 1e6)
        for _ in range(args.block_steps):
            t = perf()
            loss = train_step()
            tr.log({k: loss for k in keys}, step)
            tracked.append((perf() - t) / 1e6)
            step += 1
        progress("overhead", b + 1, args.blocks)
    out["plainStepMs"] = plain
    out["trackedStepMs"] = tracked

    # 3. finish
    t = perf()
    tr.finish()
    out["finishMs"] = (perf() - t) / 1e6
    out["peakRssBytes"] = vm("VmHWM")
    out["points"] = step * args.keys
    print("E2E_BENCH " + json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
