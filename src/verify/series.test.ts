/** SeriesBuilder: trimming, no time column, and following a reference series (held once). */
import { expect, test } from "bun:test";
import { SeriesBuilder, observedPoints, type Series } from "./series.ts";

const build = (pts: [number, number, number][], o?: ConstructorParameters<typeof SeriesBuilder>[1]) => {
  const b = new SeriesBuilder(4, o);
  for (const [s, v, t] of pts) b.push(s, v, t);
  return b.finish();
};
const ref: Series = build([[1, 0.1, 10], [2, 0.2, 20], [3, Number.NaN, 30]]);

test("points that repeat the reference share its columns and keep their own times", () => {
  const got = build([[1, 0.1, 11], [2, 0.2, 21], [3, Number.NaN, 31]], { like: { series: ref } });
  expect(got.steps.buffer).toBe(ref.steps.buffer);
  expect(got.values.buffer).toBe(ref.values.buffer);
  expect(Array.from(got.timestamps)).toEqual([11, 21, 31]);
  const fewer = build([[1, 0.1, 11]], { like: { series: ref } });
  expect(observedPoints(fewer)).toEqual([{ step: 1, value: 0.1, timestamp: 11 }]);
});

test("a point that differs: the builder holds what was pushed, as a plain one would", () => {
  for (const pts of [
    [[1, 0.1, 11], [2, 0.25, 21], [3, 0.3, 31]],
    [[1, 0.1, 11], [2, 0.2, 21], [3, Number.NaN, 31], [4, 0.4, 41]],
    [[2, 0.2, 21], [1, 0.1, 11]],
    [[1, 0.1, 11], [1, 0.1, 12], [2, 0.2, 21]],
  ] as [number, number, number][][]) {
    const got = build(pts, { like: { series: ref } });
    expect(observedPoints(got)).toEqual(observedPoints(build(pts)));
    expect(got.steps.buffer).not.toBe(ref.steps.buffer);
  }
});

test("float32: values equal once rounded follow the reference; others do not", () => {
  const f = build([[1, Math.fround(0.1), 0], [2, Math.fround(0.2), 0]], { timestamps: false });
  const same = build([[1, 0.1, 0], [2, 0.2, 0]], { timestamps: false, like: { series: f, float32: true } });
  expect(same.values.buffer).toBe(f.values.buffer);
  expect(same.timestamps.length).toBe(0);
  const exact = build([[1, 0.1, 0], [2, 0.2, 0]], { like: { series: f } });
  expect(Array.from(exact.values)).toEqual([0.1, 0.2]);
});

test("a large finished series is trimmed to its length", () => {
  const b = new SeriesBuilder(1024);
  for (let i = 0; i < 70_000; i++) b.push(i, i, i);
  const s = b.finish();
  expect(s.steps.buffer.byteLength).toBe(70_000 * 8);
  expect(s.length).toBe(70_000);
});

test("across chunks, finished twice with points pushed between: every point in order", () => {
  const b = new SeriesBuilder(1000);
  for (let i = 0; i < 150_000; i++) b.push(i, i / 3, i * 10);
  const first = b.finish();
  for (let i = 150_000; i < 300_000; i++) b.push(i, i / 3, i * 10);
  const s = b.finish();
  expect(first.length).toBe(150_000);
  expect(first.values[149_999]).toBe(149_999 / 3);
  expect(s.length).toBe(300_000);
  for (const i of [0, 999, 1000, 66_535, 66_536, 150_000, 299_999]) expect([s.steps[i], s.values[i], s.timestamps[i]]).toEqual([i, i / 3, i * 10]);
  const noTimes = new SeriesBuilder(1, { timestamps: false });
  for (let i = 0; i < 70_000; i++) noTimes.push(i, i, i);
  expect(noTimes.finish().timestamps.length).toBe(0);
});
