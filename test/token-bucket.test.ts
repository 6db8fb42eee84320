// The token bucket under the key server's per-user limits and the UE's derivation limit
// (src/mbms/token-bucket.ts), on explicit times.
import { describe, expect, it } from "vitest";
import { MbmsError } from "../src/mbms/errors.js";
import { TokenBucket } from "../src/mbms/token-bucket.js";

describe("TokenBucket", () => {
  it("starts full: `burst` tokens at once, then one per 1/rate seconds", () => {
    const b = new TokenBucket(50, 10, 1000);
    for (let i = 0; i < 10; i++) expect(b.tryTake(1000), `token ${i}`).toBe(true);
    expect(b.tryTake(1000)).toBe(false);
    expect(b.waitMs(1000)).toBeCloseTo(20, 9);
    expect(b.tryTake(1019)).toBe(false);
    expect(b.tryTake(1020)).toBe(true);
    expect(b.tryTake(1020)).toBe(false);
  });

  it("never holds more than `burst`, however long it was idle", () => {
    const b = new TokenBucket(2, 3, 0);
    for (let i = 0; i < 3; i++) b.take(0);
    let taken = 0;
    while (b.tryTake(3_600_000)) taken++;
    expect(taken).toBe(3);
  });

  it("take() always counts, but the level does not go below 0", () => {
    const b = new TokenBucket(1, 1, 0);
    b.take(0);
    b.take(0);
    b.take(0);
    expect(b.waitMs(0)).toBe(1000);
    expect(b.tryTake(1000)).toBe(true);
  });

  it("a clock that steps back adds nothing", () => {
    const b = new TokenBucket(10, 1, 5000);
    expect(b.tryTake(5000)).toBe(true);
    expect(b.tryTake(0)).toBe(false);
    expect(b.waitMs(5000)).toBe(100);
  });

  it("refuses a rate or burst that is not positive", () => {
    for (const [rate, burst] of [[0, 1], [-1, 1], [Number.NaN, 1], [Infinity, 1], [1, 0], [1, 1.5], [1, -2]]) {
      expect(() => new TokenBucket(rate!, burst!, 0), `${rate}/${burst}`).toThrow(MbmsError);
    }
  });
});
