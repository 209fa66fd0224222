import { expect, test } from "bun:test";
import { mergeCaptures, splitCapturedRows, type Row } from "./tensorboard-capture.ts";

const row = (o: Record<string, unknown>): Row => ({ values: new Map(Object.entries(o)) });
const tb = [{ offset: 0, logDir: "/w/tb/main", rootDir: "/w/tb", save: true }];

test("rows W&B's TensorBoard capture wrote are split from the run's own, by namespace and global_step", () => {
  const { own, capture } = splitCapturedRows([
    row({ loss: 0.5, step: 1, _step: 0, _timestamp: 1.7e9 }),
    row({ "main/loss": 0.5, global_step: 1, _step: 1, _timestamp: 1001.5 }),
    // define_metric step_sync copies the logger's step metric into the capture's rows
    row({ "main/acc": 0.25, global_step: 2, "trainer/global_step": 7, _step: 2 }),
    // a user's own row that happens to have global_step stays the run's
    row({ global_step: 3, other: 1, _step: 3 }),
  ], tb);
  expect(own.map((r) => r.values.get("_step"))).toEqual([0, 3]);
  expect(capture.dirs).toEqual([{ logDir: "/w/tb/main", namespace: "main" }]);
  expect(capture.points).toEqual({ main: { loss: [{ step: 1, value: 0.5, timestamp: 1001500 }], acc: [{ step: 2, value: 0.25 }] } });
  expect(mergeCaptures([capture, capture]).points.main!.loss).toHaveLength(2);
});

test("without a root dir (sync_tensorboard=True, one log dir) keys are not namespaced: nothing is split off", () => {
  const rows = [row({ loss: 0.5, global_step: 1, _step: 0 })];
  const { own, capture } = splitCapturedRows(rows, [{ offset: 0, logDir: "/w/tb", save: true }]);
  expect(own).toEqual(rows);
  expect(capture.points).toEqual({});
});
