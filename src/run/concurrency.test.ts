import { describe, expect, test } from "bun:test";
import { threadEnv, workflowConcurrency } from "./concurrency.ts";

describe("how a run shares the cores", () => {
  test("E2E_JOBS sets the processes at once; otherwise one per core, at least two, at most eight", () => {
    expect(workflowConcurrency({ E2E_JOBS: "3" })).toBe(3);
    expect(workflowConcurrency({ E2E_JOBS: "12" }, 2)).toBe(12);
    expect(workflowConcurrency({}, 1)).toBe(2);
    expect(workflowConcurrency({}, 4)).toBe(4);
    expect(workflowConcurrency({}, 64)).toBe(8);
    expect(workflowConcurrency({ E2E_JOBS: "0" })).toBe(workflowConcurrency({}));
    expect(workflowConcurrency({ E2E_JOBS: "two" })).toBe(workflowConcurrency({}));
  });

  test("threads per process divide the cores; the user's OMP_NUM_THREADS wins; one process keeps them all", () => {
    expect(threadEnv(2, 2, {})).toEqual({ OMP_NUM_THREADS: "1" });
    expect(threadEnv(6, 2, {})).toEqual({ OMP_NUM_THREADS: "1" });
    expect(threadEnv(4, 32, {})).toEqual({ OMP_NUM_THREADS: "8" });
    expect(threadEnv(2, 2, { OMP_NUM_THREADS: "4" })).toEqual({});
    expect(threadEnv(1, 2, {})).toEqual({});
  });
});
