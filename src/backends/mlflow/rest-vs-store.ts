/**
 * Keeps the server in the loop when a key's points are read from the store file (store.ts): the
 * first page REST's metrics/get-history serves and the latest value runs/get serves must be the
 * store's own points, point for point. A server that stores but serves something else (a broken
 * page, a stale latest value) then fails the key's metric check, saying REST and the store disagree.
 */
import { numbersEqual } from "../../verify/series-compare.ts";
import { shownValue, type Series } from "../../verify/series.ts";
import type { LatestPoint } from "./store.ts";

export interface RestAgreement {
  ok: boolean;
  /** What was compared, or the first disagreement. */
  message: string;
}

const same = (a: number, b: number) => numbersEqual(a, b);
const sameTime = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/**
 * `rest`: get-history's first page; `store`: the store's first points in the same order (as many
 * as were asked of REST). `restLatest`: runs/get's entry for the key (absent if it names none).
 */
export function restAgreesWithStore(rest: Series, store: Series, restLatest: LatestPoint | undefined, storeLatest: LatestPoint | undefined): RestAgreement {
  const disagree = (what: string): RestAgreement => ({ ok: false, message: `REST and the store disagree: ${what}` });
  if (rest.length !== store.length) return disagree(`get-history's first page holds ${rest.length} points, the store's first ${store.length}`);
  for (let i = 0; i < rest.length; i++) {
    if (rest.steps[i] !== store.steps[i] || !same(rest.values[i]!, store.values[i]!) || !sameTime(rest.timestamps[i]!, store.timestamps[i]!))
      return disagree(`get-history point ${i} is (step ${rest.steps[i]}, ${shownValue(rest.values[i]!)}, ${rest.timestamps[i]} ms), the store's (step ${store.steps[i]}, ${shownValue(store.values[i]!)}, ${store.timestamps[i]} ms)`);
  }
  if (!storeLatest !== !restLatest) return disagree(restLatest ? "runs/get names the key, the store holds no point of it" : "runs/get does not name the key the store holds");
  if (restLatest && storeLatest) {
    const r = restLatest, s = storeLatest;
    if (r.step !== s.step || r.timestamp !== s.timestamp || !same(r.value, s.value))
      return disagree(`runs/get's latest is (step ${r.step}, ${shownValue(r.value)}, ${r.timestamp} ms), the store's (step ${s.step}, ${shownValue(s.value)}, ${s.timestamp} ms)`);
  }
  return { ok: true, message: `REST get-history's first ${rest.length} points and runs/get's latest value are the store's` };
}
