// Randomized cross-checks of both WASM builds against the independent reference, for every length
// 0..2048 and random keys, IVs and lane mixes.
import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hex, referenceBackend as ref, wasmBackends } from "./helpers/backends.js";

const MAX_LEN = 2048;
const bytes = (n: number) => new Uint8Array(randomBytes(n));

/** A random IV whose 32-bit counter cannot wrap within MAX_LEN bytes (node:crypto carries into byte 11). */
function randomIv(): Uint8Array {
  const iv = bytes(16);
  new DataView(iv.buffer).setUint32(12, randomInt(0, 0xffff_0000));
  return iv;
}

describe.each(wasmBackends)("$name against the reference", (backend) => {
  it("AES-CM for every length 0..2048, random AES-128/192/256 keys and IVs", () => {
    for (let len = 0; len <= MAX_LEN; len++) {
      const key = bytes([16, 24, 32][len % 3]!);
      const iv = randomIv();
      const data = bytes(len);
      expect(hex(backend.aesCm(key, iv, data)), `len ${len}`).toBe(hex(ref.aesCm(key, iv, data)));
    }
  });

  it("AES-CM with the counter carrying into bytes 14, 13 and 12 inside a call (the SIMD core's round-1 shortcut)", () => {
    for (const counter of [0x0000_00f9, 0x0000_fff3, 0x00ff_fffd, 0xffff_ff00, 0x7fff_ffe0]) {
      for (const len of [17, 128, 129, 512, 513, 1200, 2048]) {
        const key = bytes([16, 24, 32][len % 3]!);
        const iv = bytes(16);
        new DataView(iv.buffer).setUint32(12, counter);
        const data = bytes(len);
        expect(hex(backend.aesCm(key, iv, data)), `counter ${counter.toString(16)}, len ${len}`).toBe(hex(ref.aesCm(key, iv, data)));
      }
    }
  });

  it("AES ECB over 1..64 blocks", () => {
    for (let blocks = 1; blocks <= 64; blocks++) {
      const key = bytes([16, 24, 32][blocks % 3]!);
      const input = bytes(blocks * 16);
      expect(hex(backend.aesEcb(key, input)), `${blocks} blocks`).toBe(hex(ref.aesEcb(key, input)));
    }
  });

  it("SHA-1 and HMAC-SHA1 for every length 0..2048, keys of 0..200 bytes", () => {
    for (let len = 0; len <= MAX_LEN; len++) {
      const data = bytes(len);
      const key = bytes(len % 201);
      expect(hex(backend.sha1(data)), `sha1 len ${len}`).toBe(hex(ref.sha1(data)));
      expect(hex(backend.hmacSha1(key, data)), `hmac len ${len}`).toBe(hex(ref.hmacSha1(key, data)));
    }
  });

  it("4-lane SHA-1 and HMAC-SHA1 with lanes of different lengths, padding edges included", () => {
    const edges = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1200, 1400, 4096];
    for (let trial = 0; trial < 400; trial++) {
      const lengths = [0, 1, 2, 3].map(() => (trial % 2 ? edges[randomInt(edges.length)]! : randomInt(0, MAX_LEN)));
      const messages = lengths.map(bytes);
      const keys = lengths.map(() => bytes(randomInt(0, 100)));
      expect(backend.sha1x4(messages).map(hex), `lengths ${lengths}`).toEqual(ref.sha1x4(messages).map(hex));
      expect(backend.hmacSha1x4(keys, messages).map(hex), `lengths ${lengths}`).toEqual(
        ref.hmacSha1x4(keys, messages).map(hex),
      );
    }
  });
});
