// The batch API: the same bytes as packet-by-packet processing, one status per packet, refused packets
// left untouched, duplicates inside a batch refused.
import { randomBytes, randomInt } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { loadCore, SrtpContext, SrtpStatus, type PacketBatch } from "../src/index.js";
import { randomRtpShape, rtpPacket, withRoom } from "./helpers/rtp.js";

const STRIDE = 1600;

/** Lays packets out in one buffer at a fixed stride (room for the trailer after each). */
function batchOf(packets: Uint8Array[]): PacketBatch {
  const buffer = new Uint8Array(packets.length * STRIDE);
  packets.forEach((p, i) => buffer.set(p, i * STRIDE));
  return {
    buffer,
    offsets: Int32Array.from(packets, (_, i) => i * STRIDE),
    lengths: Int32Array.from(packets, (p) => p.length),
  };
}
const packetAt = (b: PacketBatch, i: number) => b.buffer.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!);

describe.each(["simd", "scalar"] as const)("%s build", (flavor) => {
  const core = loadCore({ flavor });
  const contexts: SrtpContext[] = [];
  const context = (mki?: Uint8Array, keys = { key: new Uint8Array(16).fill(3), salt: new Uint8Array(14).fill(4) }) => {
    const ctx = new SrtpContext({ keys: [{ ...keys, mki }] }, core);
    contexts.push(ctx);
    return ctx;
  };
  afterAll(() => contexts.forEach((c) => c.close()));

  it.each([undefined, randomBytes(12)])("protectBatch gives the bytes of protect, for 0..37 packets (mki %#)", (mki) => {
    for (const n of [0, 1, 3, 4, 5, 8, 37]) {
      const plains = Array.from({ length: n }, (_, i) => rtpPacket(randomRtpShape(i, 0xabc + (i % 3))));
      const single = context(mki), batched = context(mki);
      const expected = plains.map((p) => {
        const buf = withRoom(p);
        return Buffer.from(buf.subarray(0, single.protect(buf, p.length)));
      });
      const batch = batchOf(plains);
      expect(batched.protectBatch(batch)).toBe(n);
      plains.forEach((_, i) => expect(Buffer.from(packetAt(batch, i))).toEqual(expected[i]));
    }
  });

  it("unprotectBatch: authentic, forged, replayed, duplicated and malformed packets in one batch", () => {
    const tx = context(), rx = context();
    const plains = Array.from({ length: 23 }, (_, i) => rtpPacket(randomRtpShape(i, 77)));
    const sealed = plains.map((p) => {
      const buf = withRoom(p);
      return Buffer.from(buf.subarray(0, tx.protect(buf, p.length)));
    });
    rx.unprotect(Buffer.from(sealed[0]!)); // already received: a replay in the batch
    const forged = Buffer.from(sealed[5]!);
    forged[forged.length - 3]! ^= 0x10;
    const inputs = [...sealed.slice(0, 5), forged, ...sealed.slice(6), sealed[9]!, new Uint8Array(5)];
    const batch = batchOf(inputs);
    const before = Buffer.from(batch.buffer);
    expect(rx.unprotectBatch(batch)).toBe(21); // 23 - replay(0) - forged(5)
    const expectStatus: Record<number, number> = {
      0: -SrtpStatus.Replayed, 5: -SrtpStatus.AuthFailed, 23: -SrtpStatus.Replayed, 24: -SrtpStatus.TooShort,
    };
    inputs.forEach((input, i) => {
      if (i in expectStatus) {
        expect(batch.lengths[i], `packet ${i}`).toBe(expectStatus[i]);
        const at = batch.offsets[i]!;
        expect(Buffer.from(batch.buffer.subarray(at, at + input.length))).toEqual(before.subarray(at, at + input.length));
      } else {
        expect(Buffer.from(packetAt(batch, i))).toEqual(plains[i]);
      }
    });
    expect(rx.getIndex(77)).toBe(22);
  });

  it("a new SSRC whose first batch crosses a sequence wrap: the results of packet-by-packet unprotect", () => {
    const tx = context(), single = context(), batched = context();
    tx.setIndex(9, 65534, { send: true });
    const sealed = [65535, 0].map((seq) => {
      const buf = withRoom(rtpPacket({ seq, ssrc: 9, payload: 20 }));
      return Buffer.from(buf.subarray(0, tx.protect(buf, 32)));
    });
    expect(sealed.map((p) => single.tryUnprotect(Buffer.from(p), p.length))).toEqual([32, 32]);
    const batch = batchOf(sealed);
    expect(batched.unprotectBatch(batch)).toBe(2);
    expect([...batch.lengths]).toEqual([32, 32]);
    expect(batched.getIndex(9)).toBe(65536);
  });

  it("rejects malformed batches with ERR_ARGUMENT and leaves state alone", () => {
    const rx = context();
    const overlapping: PacketBatch = { buffer: new Uint8Array(100), offsets: Int32Array.of(0, 10), lengths: Int32Array.of(20, 20) };
    expect(() => rx.unprotectBatch(overlapping)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    const outside: PacketBatch = { buffer: new Uint8Array(100), offsets: Int32Array.of(90), lengths: Int32Array.of(20) };
    expect(() => rx.unprotectBatch(outside)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    const tooMany: PacketBatch = { buffer: new Uint8Array(100), offsets: Int32Array.of(0), lengths: Int32Array.of(20), count: 2 };
    expect(() => rx.unprotectBatch(tooMany)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
  });

  it("refuses a batch whose last packet is malformed before protecting any of it", () => {
    const tx = context();
    const good = rtpPacket(randomRtpShape(7, 0x77));
    const batch = batchOf([good, good]);
    batch.lengths[1] = STRIDE + 1; // runs past the buffer
    expect(() => tx.protectBatch(batch)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    // Sequence 7 was not spent: protecting it now is not a repeat (that would be refused as a replay).
    const buf = withRoom(good);
    expect(tx.tryProtect(buf, good.length)).toBe(good.length + tx.trailerLength);
  });

  it("random batches round-trip through protectBatch and unprotectBatch", () => {
    const mki = randomBytes(4);
    const tx = context(mki), rx = context(mki);
    let seq = randomInt(0, 65536);
    for (let round = 0; round < 30; round++) {
      const plains = Array.from({ length: randomInt(1, 40) }, () => rtpPacket(randomRtpShape(seq++ & 0xffff, 5)));
      const batch = batchOf(plains);
      expect(tx.protectBatch(batch)).toBe(plains.length);
      expect(rx.unprotectBatch(batch)).toBe(plains.length);
      plains.forEach((p, i) => expect(Buffer.from(packetAt(batch, i))).toEqual(p));
    }
  });
});
