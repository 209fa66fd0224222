// Unit level, with a hand-made REST page: a server that stores points but serves others cannot be
// made without editing MLflow, so its disagreement is built here (the store side is store.test.ts).
import { expect, test } from "bun:test";
import { SeriesBuilder, type Series } from "../../verify/series.ts";
import { restAgreesWithStore } from "./rest-vs-store.ts";

const series = (pts: [number, number, number][]): Series => {
  const b = new SeriesBuilder(8);
  for (const [s, v, t] of pts) b.push(s, v, t);
  return b.finish();
};
const store = series([[1, 0.5, 100], [2, Number.NaN, 101], [3, 1.7976931348623157e308, 102]]);
const latest = { step: 3, timestamp: 102, value: 1.7976931348623157e308 };

test("REST serving the store's points agrees (NaN equals NaN)", () => {
  const r = restAgreesWithStore(series([[1, 0.5, 100], [2, Number.NaN, 101], [3, 1.7976931348623157e308, 102]]), store, { ...latest }, latest);
  expect(r).toEqual({ ok: true, message: "REST get-history's first 3 points and runs/get's latest value are the store's" });
});

test("a get-history page that differs from the store by one value fails, naming both", () => {
  const r = restAgreesWithStore(series([[1, 0.5, 100], [2, 7, 101], [3, 1.7976931348623157e308, 102]]), store, latest, latest);
  expect(r.ok).toBe(false);
  expect(r.message).toBe("REST and the store disagree: get-history point 1 is (step 2, 7, 101 ms), the store's (step 2, NaN, 101 ms)");
});

test("a short page, a shifted timestamp, a stale latest value, a key runs/get does not name: each fails", () => {
  expect(restAgreesWithStore(series([[1, 0.5, 100]]), store, latest, latest).message).toBe("REST and the store disagree: get-history's first page holds 1 points, the store's first 3");
  expect(restAgreesWithStore(series([[1, 0.5, 100], [2, Number.NaN, 102], [3, 1.7976931348623157e308, 102]]), store, latest, latest).ok).toBe(false);
  expect(restAgreesWithStore(store, store, { step: 2, timestamp: 101, value: 1 }, latest).message)
    .toBe("REST and the store disagree: runs/get's latest is (step 2, 1, 101 ms), the store's (step 3, 1.7976931348623157e+308, 102 ms)");
  expect(restAgreesWithStore(store, store, undefined, latest).message).toBe("REST and the store disagree: runs/get does not name the key the store holds");
});
