import { describe, expect, test } from "bun:test";
import { Slots } from "./slots.ts";

/** A job that records how many jobs (by weight) ran beside it, and finishes when told. */
function harness() {
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const gates = new Map<string, () => void>();
  const job = (name: string, weight: number) => async () => {
    running += weight;
    peak = Math.max(peak, running);
    order.push(name);
    await new Promise<void>((go) => gates.set(name, go));
    running -= weight;
    return name;
  };
  const finish = async (name: string) => {
    for (let i = 0; i < 50 && !gates.has(name); i++) await Bun.sleep(1);
    gates.get(name)!();
    await Bun.sleep(1);
  };
  return { job, finish, order, peak: () => peak };
}

describe("Slots", () => {
  test("never runs more weight at once than its size, first come first served", async () => {
    const h = harness();
    const slots = new Slots(2);
    const all = Promise.all(["a", "b", "c", "d"].map((n) => slots.run(1, h.job(n, 1))));
    await Bun.sleep(5);
    expect(h.order).toEqual(["a", "b"]);
    await h.finish("b");
    expect(h.order).toEqual(["a", "b", "c"]);
    await h.finish("a");
    await h.finish("c");
    await h.finish("d");
    expect(await all).toEqual(["a", "b", "c", "d"]);
    expect(h.peak()).toBe(2);
  });

  test("a heavy job waits for its slots and is not overtaken; one heavier than the size takes them all", async () => {
    const h = harness();
    const slots = new Slots(2);
    const a = slots.run(1, h.job("a", 1));
    const ddp = slots.run(2, h.job("ddp", 2));
    const c = slots.run(1, h.job("c", 1));
    const huge = slots.run(8, h.job("huge", 2));
    await Bun.sleep(5);
    expect(h.order).toEqual(["a"]); // c would fit beside a, but ddp came first
    await h.finish("a");
    expect(h.order).toEqual(["a", "ddp"]);
    await h.finish("ddp");
    await h.finish("c");
    await h.finish("huge");
    await Promise.all([a, ddp, c, huge]);
    expect(h.order).toEqual(["a", "ddp", "c", "huge"]);
    expect(h.peak()).toBe(2);
  });

  test("a failing job frees its slots", async () => {
    const slots = new Slots(1);
    await expect(slots.run(1, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await slots.run(1, async () => "next")).toBe("next");
  });
});
