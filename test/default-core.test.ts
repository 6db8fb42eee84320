// One rule for the core: every API that is not given a core uses the one default core of the process
// (src/wasm/default-core.ts); a core passed explicitly isolates a context. On the shared core the key
// slots are the limit: the 65th master key is refused with a typed error, and closing frees the slots.
import { describe, expect, it } from "vitest";
import { CoreError } from "../src/errors.js";
import { SrtpContext } from "../src/srtp/context.js";
import { defaultCore } from "../src/wasm/default-core.js";
import { loadCore } from "../src/wasm/load.js";

const keyInit = (i: number) => ({ key: new Uint8Array(16).fill(i), salt: new Uint8Array(14).fill(i) });
const PROFILE = "AES_CM_128_HMAC_SHA1_80" as const;

describe("the default core", () => {
  it("is one core, loaded once", () => {
    expect(defaultCore()).toBe(defaultCore());
  });

  it("is where contexts without a core keep their keys; an explicit core keeps them apart", () => {
    const shared = defaultCore();
    const before = shared.hmacPool.available;
    const a = new SrtpContext({ profile: PROFILE, keys: [keyInit(1)] });
    const b = new SrtpContext({ profile: PROFILE, keys: [keyInit(2)] });
    expect(shared.hmacPool.available).toBe(before - 4); // 2 HMAC slots (SRTP, SRTCP) per master key
    const own = loadCore();
    const c = new SrtpContext({ profile: PROFILE, keys: [keyInit(3)] }, own);
    expect(shared.hmacPool.available).toBe(before - 4);
    expect(own.hmacPool.available).toBe(own.hmacSlots - 2);
    for (const ctx of [a, b, c]) ctx.close();
    expect(shared.hmacPool.available).toBe(before);
  });

  it("refuses a master key past its slots with ERR_SLOTS_EXHAUSTED, and closing gives them back", () => {
    const shared = defaultCore();
    const free = () => [shared.aesPool.available, shared.hmacPool.available, shared.saltPool.available];
    const initially = free();
    const room = Math.floor(shared.hmacPool.available / 2);
    const contexts = Array.from({ length: room }, (_, i) => new SrtpContext({ profile: PROFILE, keys: [keyInit(i)] }));
    let refused: unknown;
    try {
      new SrtpContext({ profile: PROFILE, keys: [keyInit(0)] });
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(CoreError);
    expect((refused as CoreError).code).toBe("ERR_SLOTS_EXHAUSTED");
    for (const ctx of contexts) ctx.close();
    expect(free()).toEqual(initially); // the refused key left no slot behind
    const again = new SrtpContext({ profile: PROFILE, keys: [keyInit(0)] });
    const rtp = new Uint8Array(64);
    rtp.set([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(again.protect(rtp, 32)).toBe(42);
    again.close();
  });
});
