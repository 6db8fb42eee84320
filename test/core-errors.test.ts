// Bad arguments give typed errors with stable codes, never a RangeError from a typed array or a trap.
import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CoreError, loadCore } from "../src/index.js";

const core = loadCore();
const arenaBytes = core.arena.length;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(CoreError);
    return (e as CoreError).code;
  }
}

describe("typed errors", () => {
  it("rejects AES keys that are not 16, 24 or 32 bytes", () => {
    for (const n of [0, 1, 15, 17, 20, 31, 33, 64]) {
      expect(codeOf(() => core.setAesKey(0, new Uint8Array(n)))).toBe("ERR_KEY_LENGTH");
    }
  });

  it("rejects slots out of range or not integers", () => {
    for (const slot of [-1, core.aesSlots, 1.5, Number.NaN, 2 ** 32]) {
      expect(codeOf(() => core.setAesKey(slot, new Uint8Array(16)))).toBe("ERR_SLOT");
      expect(codeOf(() => core.setHmacKey(slot, new Uint8Array(20)))).toBe("ERR_SLOT");
      expect(codeOf(() => core.hmacSha1InArena(slot, 0, 10, 100))).toBe("ERR_SLOT");
    }
  });

  it("rejects use of an AES slot that holds no key", () => {
    core.wipeAesKey(7);
    expect(codeOf(() => core.aesCmXorInArena(7, 0, 16, 16))).toBe("ERR_NO_KEY");
    expect(codeOf(() => core.aesEncryptBlocksInArena(7, 0, 0, 1))).toBe("ERR_NO_KEY");
    expect(codeOf(() => core.aesCmXor(7, new Uint8Array(16), new Uint8Array(4)))).toBe("ERR_NO_KEY");
  });

  it("rejects buffers past the arena", () => {
    core.setAesKey(0, new Uint8Array(16));
    expect(codeOf(() => core.aesCmXorInArena(0, 0, arenaBytes - 10, 11))).toBe("ERR_RANGE");
    expect(codeOf(() => core.aesCmXorInArena(0, arenaBytes - 8, 0, 16))).toBe("ERR_RANGE");
    expect(codeOf(() => core.sha1InArena(-1, 4, 0))).toBe("ERR_RANGE");
    expect(codeOf(() => core.sha1InArena(0, 4, arenaBytes - 19))).toBe("ERR_RANGE");
    expect(codeOf(() => core.sha1(new Uint8Array(arenaBytes)))).toBe("ERR_RANGE");
    expect(codeOf(() => core.aesEncryptBlocksInArena(0, 0, arenaBytes - 16, 2))).toBe("ERR_RANGE");
    expect(codeOf(() => core.ctEqualInArena(0, arenaBytes - 4, 5))).toBe("ERR_RANGE");
  });

  it("rejects outputs too small and malformed arguments", () => {
    core.setAesKey(0, new Uint8Array(16));
    expect(codeOf(() => core.aesEncryptBlocks(0, new Uint8Array(32), new Uint8Array(16)))).toBe("ERR_OUTPUT_SIZE");
    expect(codeOf(() => core.aesEncryptBlocks(0, new Uint8Array(17)))).toBe("ERR_ARGUMENT");
    expect(codeOf(() => core.aesCmXor(0, new Uint8Array(12), new Uint8Array(4)))).toBe("ERR_ARGUMENT");
    expect(codeOf(() => core.sha1x4([new Uint8Array(1)]))).toBe("ERR_ARGUMENT");
    expect(codeOf(() => core.sha1x4InArena([0, 1, 2]))).toBe("ERR_ARGUMENT");
    expect(codeOf(() => core.hmacSha1x4([0, 1, 2], [1, 2, 3, 4].map((n) => new Uint8Array(n))))).toBe("ERR_ARGUMENT");
  });

  it("error messages carry no key bytes", () => {
    const key = new Uint8Array(17).fill(0xab);
    expect(() => core.setAesKey(0, key)).toThrow(CoreError);
    try {
      core.setAesKey(0, key);
    } catch (e) {
      expect(String((e as Error).message)).not.toMatch(/ab|171/i);
    }
  });

  it("random arguments to every arena entry point: success or CoreError, never anything else", () => {
    const wild = () => [0, 1, 16, arenaBytes - 20, arenaBytes, -5, 2 ** 31, randomInt(0, arenaBytes)][randomInt(8)]!;
    const calls = [
      () => core.aesCmXorInArena(randomInt(-1, 66), wild(), wild(), wild()),
      () => core.aesEncryptBlocksInArena(randomInt(-1, 66), wild(), wild(), wild() >> 4),
      () => core.sha1InArena(wild(), wild(), wild()),
      () => core.hmacSha1InArena(randomInt(-1, 66), wild(), wild(), wild()),
      () => core.ctEqualInArena(wild(), wild(), wild()),
      () => core.sha1x4InArena(Array.from({ length: 12 }, wild)),
      () => core.hmacSha1x4InArena(Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? randomInt(-1, 66) : wild()))),
    ];
    for (let i = 0; i < 20_000; i++) codeOf(calls[i % calls.length]!);
  });
});

describe("loading", () => {
  it("each load is an independent core with its own key slots", async () => {
    const { initCore } = await import("../src/index.js");
    const a = loadCore({ flavor: "scalar" });
    const b = await initCore({ flavor: "simd" });
    expect([a.flavor, b.flavor]).toEqual(["scalar", "simd"]);
    a.setHmacKey(1, new Uint8Array([1]));
    b.setHmacKey(1, new Uint8Array([2]));
    expect(a.hmacSha1(1, new Uint8Array(3))).not.toEqual(b.hmacSha1(1, new Uint8Array(3)));
  });
});
