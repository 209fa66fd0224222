import { describe, expect, test } from "bun:test";
import { makePlan, parseList } from "./plan.ts";
import { E2EError } from "../util/errors.ts";

const err = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as E2EError;
  }
  throw new Error("expected an error");
};

describe("makePlan", () => {
  test("defaults: every backend in its default mode, cnn, quick", () => {
    const p = makePlan({});
    expect(p.backends).toEqual([
      { name: "mlflow", mode: "native" },
      { name: "wandb", mode: "offline" },
      { name: "clearml", mode: "offline" },
    ]);
    expect(p.workflows).toEqual(["cnn"]);
    expect(p.profile).toBe("quick");
  });
  test("unknown backend names the valid ones", () => {
    const e = err(() => makePlan({ backend: "mlflow,neptune" }));
    expect(e.message).toBe("unknown backend 'neptune'");
    expect(e.hint).toContain("mlflow, wandb, clearml");
    expect(e.exitCode).toBe(2);
  });
  test("unknown workflow names the valid ones", () => {
    expect(err(() => makePlan({ workflow: "gan" })).hint).toContain("cnn");
  });
  test("bad port, profile, device, seed, url", () => {
    expect(err(() => makePlan({ port: "70000" })).message).toContain("not a port");
    expect(err(() => makePlan({ profile: "huge" })).message).toContain("unknown profile");
    expect(err(() => makePlan({ device: "tpu" })).message).toContain("unknown device");
    expect(err(() => makePlan({ seed: "x" })).message).toContain("not an integer");
    expect(err(() => makePlan({ backend: "mlflow", url: "ftp://x" })).message).toContain("not an http");
  });
  test("--url means url mode and one backend", () => {
    expect(makePlan({ backend: "mlflow", url: "http://127.0.0.1:5000" }).backends).toEqual([{ name: "mlflow", mode: "url", url: "http://127.0.0.1:5000" }]);
    expect(err(() => makePlan({ url: "http://127.0.0.1:5000" })).message).toContain("several backends");
  });
  test("a mode a backend lacks is refused when it is the only backend", () => {
    const e = err(() => makePlan({ backend: "mlflow", mode: "offline" }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("mlflow has no offline mode (mlflow: native, docker, url)");
    expect(e.hint).toContain("--backend wandb,clearml with --mode offline");
  });
  test("--backend all --mode docker: exit 2 naming each backend's modes (the descriptors'), no silent fallback", () => {
    const e = err(() => makePlan({ backend: "all", mode: "docker" }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("wandb and clearml have no docker mode (mlflow: native, docker, url; wandb: offline, url; clearml: offline, url)");
    expect(e.hint).toContain("--backend mlflow with --mode docker");
    expect(err(() => makePlan({ backend: "wandb", mode: "docker" })).message).toContain("wandb has no docker mode");
    expect(makePlan({ backend: "mlflow", mode: "docker" }).backends).toEqual([{ name: "mlflow", mode: "docker" }]);
  });
  test("--mode url needs --url; --url with another --mode is a contradiction", () => {
    for (const backend of ["mlflow", "wandb", "clearml"]) {
      const e = err(() => makePlan({ backend, mode: "url" }));
      expect([e.exitCode, e.message]).toEqual([2, "--mode url needs --url"]);
    }
    expect(err(() => makePlan({ backend: "mlflow", mode: "native", url: "http://127.0.0.1:1" })).message).toContain("contradict");
  });
  test("parseList: all, duplicates", () => {
    expect(parseList("x", "a,a", ["a", "b"] as const, [])).toEqual(["a"]);
    expect(parseList("x", "all", ["a", "b"] as const, [])).toEqual(["a", "b"]);
  });
});

describe("workflowTimeoutMs", () => {
  test("the profile's deadline for the sizes it gives", async () => {
    const { workflowTimeoutMs, WORKFLOW_SPECS, TIMEOUT_MS } = await import("./workflows.ts");
    expect(workflowTimeoutMs("quick", WORKFLOW_SPECS.scale.sizes.quick)).toBe(TIMEOUT_MS.quick);
    expect(workflowTimeoutMs("full", WORKFLOW_SPECS.scale.sizes.full)).toBe(TIMEOUT_MS.full);
    expect(workflowTimeoutMs("quick", WORKFLOW_SPECS.cnn.sizes.quick)).toBe(TIMEOUT_MS.quick);
  });
  test("--size points=10000000 gets hours, not the quick profile's 5 minutes", async () => {
    const { workflowTimeoutMs } = await import("./workflows.ts");
    expect(workflowTimeoutMs("quick", { points: 10_000_000, keys: 4 })).toBe(20_000_000);
    expect(workflowTimeoutMs("quick", { points: 1_000_000 })).toBe(2_000_000);
  });
});
