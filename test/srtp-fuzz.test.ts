// Fuzz: over a million mutated SRTP and SRTCP packets (bit flips, truncations, length fields pointing past
// the end, random MKIs, random bytes) into the receive path. No exception but typed statuses, no mutated
// packet ever accepted, and the context's state unchanged: the genuine stream still decrypts afterwards.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadCore, SrtpContext } from "../src/index.js";
import { prng } from "./helpers/prng.js";
import { randomRtpShape, rtcpPacket, rtpPacket, withRoom } from "./helpers/rtp.js";

const MUTATIONS = Number(process.env.FUZZ_MUTATIONS ?? 1_050_000);


function mutate(src: Uint8Array, out: Uint8Array, rand: (n: number) => number): number {
  out.set(src);
  let len = src.length;
  switch (rand(6)) {
    case 0: // one to three bit flips anywhere
      for (let k = rand(3) + 1; k > 0; k--) out[rand(len)]! ^= 1 << rand(8);
      break;
    case 1: // truncation
      len = rand(len);
      break;
    case 2: // CSRC count or extension length pointing past the end
      out[0] = (out[0]! & 0xe0) | 0x10 | rand(16);
      if (len > 15) out[14] = rand(256), (out[15] = rand(256));
      break;
    case 3: // random MKI bytes (before a 10-byte tag)
      for (let i = Math.max(0, len - 14); i < len - 10; i++) out[i] = rand(256);
      break;
    case 4: // random tail bytes
      for (let i = rand(len); i < len; i++) out[i] = rand(256);
      break;
    default: // version / padding / marker bits
      out[rand(Math.min(len, 12))]! ^= 0xff;
  }
  return len;
}

describe("fuzzing the receive path", () => {
  it(`${MUTATIONS} mutated SRTP/SRTCP packets: typed rejections only, nothing accepted, state unchanged`, () => {
    const core = loadCore();
    const keys = [{ key: randomBytes(16), salt: randomBytes(14), mki: randomBytes(4) }];
    const tx = new SrtpContext({ keys }, core);
    const rx = new SrtpContext({ keys }, core);
    const seal = (p: Uint8Array, rtcp = false) => {
      const b = withRoom(p);
      return b.subarray(0, rtcp ? tx.protectRtcp(b, p.length) : tx.protect(b, p.length));
    };
    const rtp = Array.from({ length: 64 }, (_, i) => Buffer.from(seal(rtpPacket(randomRtpShape(1000 + i, 42)))));
    const rtcp = Array.from({ length: 16 }, () => Buffer.from(seal(rtcpPacket(42, 6), true)));
    const receivedRtp = rtp.slice(0, 32), receivedRtcp = rtcp.slice(0, 8);
    receivedRtp.forEach((p) => rx.unprotect(Buffer.from(p)));
    receivedRtcp.forEach((p) => rx.unprotectRtcp(Buffer.from(p)));
    const index = rx.getIndex(42);

    const rand = prng(0x5eed);
    const work = new Uint8Array(2048);
    const statuses = new Map<number, number>();
    let accepted = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const isRtcp = (i & 7) === 7;
      // Only packets already received: a mutation that happens to change nothing is then a replay.
      const pool = isRtcp ? receivedRtcp : receivedRtp;
      const src = pool[rand(pool.length)]!;
      const len = mutate(src, work, rand);
      const view = work.subarray(0, Math.max(len, 0));
      const r = isRtcp ? rx.tryUnprotectRtcp(view, len) : rx.tryUnprotect(view, len);
      if (r >= 0) accepted++;
      else statuses.set(-r, (statuses.get(-r) ?? 0) + 1);
    }
    expect(accepted).toBe(0);
    expect(rx.getIndex(42)).toBe(index);
    // Every genuine packet not yet received still decrypts, and every received one is still a replay.
    rtp.slice(32).forEach((p) => expect(rx.tryUnprotect(Buffer.from(p), p.length)).toBeGreaterThan(0));
    rtcp.slice(8).forEach((p) => expect(rx.tryUnprotectRtcp(Buffer.from(p), p.length)).toBeGreaterThan(0));
    rtp.slice(0, 32).forEach((p) => expect(rx.tryUnprotect(Buffer.from(p), p.length)).toBeLessThan(0));
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([1, 2, 4, 5, 6, 7]));
    tx.close();
    rx.close();
  }, 300_000);
});
