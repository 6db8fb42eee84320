// Keys leave no trace: the raw key is never stored, and wiping a slot returns the core's memory to
// exactly what it was before the key was installed.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadCore, type CryptoCore } from "../src/index.js";

const memoryOf = (core: CryptoCore) => new Uint8Array(core.arena.buffer);

/** True when some 8-byte window of `key` occurs anywhere in `mem`. */
function containsKeyWindow(mem: Uint8Array, key: Uint8Array): boolean {
  const haystack = Buffer.from(mem.buffer, mem.byteOffset, mem.length);
  for (let i = 0; i + 8 <= key.length; i++) {
    if (haystack.indexOf(Buffer.from(key.subarray(i, i + 8))) !== -1) return true;
  }
  return false;
}

describe.each(["simd", "scalar"] as const)("%s build", (flavor) => {
  it.each([16, 24, 32])("AES-%i: raw key not in memory after setAesKey; wipe restores memory", (bytes) => {
    const core = loadCore({ flavor });
    const before = memoryOf(core).slice();
    const key = new Uint8Array(randomBytes(bytes));
    core.setAesKey(9, key);
    expect(memoryOf(core)).not.toEqual(before);
    expect(containsKeyWindow(memoryOf(core), key)).toBe(false);
    core.wipeAesKey(9);
    expect(memoryOf(core)).toEqual(before);
  });

  it.each([4, 20, 64, 100])("HMAC key of %i bytes: raw key not in memory; wipe restores memory", (bytes) => {
    const core = loadCore({ flavor });
    const before = memoryOf(core).slice();
    const key = new Uint8Array(randomBytes(bytes));
    core.setHmacKey(3, key);
    expect(memoryOf(core)).not.toEqual(before);
    if (bytes >= 8) expect(containsKeyWindow(memoryOf(core), key)).toBe(false);
    core.wipeHmacKey(3);
    expect(memoryOf(core)).toEqual(before);
  });
});

describe("UICC-mode receiver", () => {
  it("keeps no copy of the KEK in the ME once the card worker has it", async () => {
    const { UdpMbmsReceiver } = await import("../src/cli/udp-mbms-receiver.js");
    const kek = new Uint8Array(randomBytes(16));
    const r = await UdpMbmsReceiver.open({
      name: "ue", mode: "UICC", userId: "sip:ue@test.invalid", kek, baseUrl: "http://127.0.0.1:9", serviceId: "urn:x", rotationPeriodMs: 1000,
      payloadSize: 100,
    });
    try {
      expect(kek.every((b) => b === 0)).toBe(true);
    } finally {
      await r.close();
    }
  });
});
