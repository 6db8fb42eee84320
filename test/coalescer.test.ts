// The Coalescer (src/mbms/bmsc/store/coalescer.ts): calls go at once while fewer than maxInFlight batches
// are out, then wait and leave together, at most maxBatch per batch, in call order; a failed batch fails
// its calls only.
import { describe, expect, it } from "vitest";
import { Coalescer } from "../src/mbms/bmsc/store/coalescer.js";

/** A run whose batches the test answers by hand. */
function rig(maxInFlight: number, maxBatch: number) {
  const batches: { items: number[]; answer: () => void; fail: (e: Error) => void }[] = [];
  const c = new Coalescer<number, number>((items) => new Promise((resolve, reject) => {
    batches.push({ items, answer: () => resolve(items.map((x) => x * 10)), fail: reject });
  }), maxInFlight, maxBatch);
  return { c, batches };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("Coalescer", () => {
  it("sends alone under light load, gathers while batches are out, in order and within maxBatch", async () => {
    const { c, batches } = rig(2, 3);
    const out = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((x) => c.call(x));
    expect(batches.map((b) => b.items)).toEqual([[1], [2]]); // two out at once; 3..9 wait
    batches[1]!.answer();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2], [3, 4, 5]]);
    batches[0]!.answer();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2], [3, 4, 5], [6, 7, 8]]);
    batches[2]!.answer();
    batches[3]!.answer();
    await tick();
    batches[4]!.answer();
    expect(await Promise.all(out)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(batches).toHaveLength(5);
  });

  it("a failed batch rejects its own calls only; a run that throws is a failed batch", async () => {
    const { c, batches } = rig(1, 10);
    const first = c.call(1);
    const rest = [2, 3].map((x) => c.call(x));
    batches[0]!.fail(new Error("down"));
    await expect(first).rejects.toThrow("down");
    await tick();
    batches[1]!.answer();
    expect(await Promise.all(rest)).toEqual([20, 30]);
    const throwing = new Coalescer<number, number>(() => {
      throw new Error("sync");
    }, 1, 1);
    await expect(throwing.call(1)).rejects.toThrow("sync");
    await expect(throwing.call(2)).rejects.toThrow("sync"); // the slot came back
  });
});
