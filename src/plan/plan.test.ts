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
      { name: "mlflow", mode: "native", url: undefined },
      { name: "wandb", mode: "offline", url: undefined },
      { name: "clearml", mode: "offline", url: undefined },
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
    expect(err(() => makePlan({ backend: "mlflow", mode: "offline" })).hint).toContain("native | docker | url");
  });
  test("parseList: all, duplicates", () => {
    expect(parseList("x", "a,a", ["a", "b"] as const, [])).toEqual(["a"]);
    expect(parseList("x", "all", ["a", "b"] as const, [])).toEqual(["a", "b"]);
  });
});
