// The SRTP/SRTCP engine's behaviour (replay, ROC, MKI, rejection leaves state unchanged), checked against
// the independent node:crypto implementation. libsrtp's known-answer packets (srtp.json) run with every
// published vector in test/vectors.test.ts (and in the browser: test/vectors/run-vectors.ts).
import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import vectors from "./vectors/srtp.json" with { type: "json" };
import { NodeCryptoSrtp } from "../reference/node-crypto-srtp.mjs";
import { loadCore, SrtpContext, SrtpError, SrtpStatus, SRTP_PROFILES, type SrtpProfileName } from "../src/index.js";
import { hex, unhex } from "./helpers/backends.js";
import { contextsOn } from "./helpers/contexts.js";
import { randomRtpShape, rtcpPacket, rtpPacket, withRoom } from "./helpers/rtp.js";

const v = vectors.packets;
const key1 = { key: unhex(v.masterKey), salt: unhex(v.masterSalt) };
const key2 = { key: unhex(v.secondKey.masterKey), salt: unhex(v.secondKey.masterSalt) };
const PROFILES = Object.keys(SRTP_PROFILES) as SrtpProfileName[];

function statusOf(f: () => unknown): SrtpStatus | "ok" {
  try {
    f();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(SrtpError);
    return (e as SrtpError).status;
  }
}

describe.each(["simd", "scalar"] as const)("%s build", (flavor) => {
  const core = loadCore({ flavor });
  const context = contextsOn(core);

  describe.each(PROFILES)("%s", (profile) => {
    it("random packets (CSRCs, extensions, payload 0..1400, ROC) match the node:crypto reference both ways", () => {
      const p = SRTP_PROFILES[profile];
      const keys = { key: randomBytes(p.keyLength), salt: randomBytes(14) };
      for (const mki of [undefined, randomBytes(randomInt(1, 17))]) {
        const ref = new NodeCryptoSrtp({ ...keys, tagLength: p.srtpTagLength, mki });
        const tx = context({ profile, keys: [{ ...keys, mki }] });
        const rx = context({ profile, keys: [{ ...keys, mki }] });
        const ssrc = randomInt(0, 2 ** 32);
        const roc = randomInt(0, 1000);
        tx.setRoc(ssrc, roc, { send: true });
        rx.setRoc(ssrc, roc);
        for (let seq = 0; seq < 150; seq++) {
          const plain = rtpPacket(randomRtpShape(seq, ssrc));
          const buf = withRoom(plain);
          const n = tx.protect(buf, plain.length);
          const expected = ref.protect(plain, roc);
          expect(hex(buf.subarray(0, n))).toBe(hex(expected));
          expect(rx.unprotect(buf, n)).toBe(plain.length);
          expect(hex(buf.subarray(0, plain.length))).toBe(hex(plain));
        }
      }
    });

    it("SRTCP round trip, E flag and index, and the reference's bytes", () => {
      const p = SRTP_PROFILES[profile];
      const keys = { key: randomBytes(p.keyLength), salt: randomBytes(14) };
      const ref = new NodeCryptoSrtp({ ...keys, srtcpTagLength: p.srtcpTagLength });
      const tx = context({ profile, keys: [keys] });
      const rx = context({ profile, keys: [keys] });
      for (let i = 0; i < 50; i++) {
        const plain = rtcpPacket(0x1234, randomInt(0, 30));
        const buf = withRoom(plain);
        const n = tx.protectRtcp(buf, plain.length);
        expect(hex(buf.subarray(0, n))).toBe(hex(ref.protectRtcp(plain, i)));
        expect(rx.unprotectRtcp(buf, n)).toBe(plain.length);
        expect(hex(buf.subarray(0, plain.length))).toBe(hex(plain));
      }
    });
  });

  describe("replay, reordering, ROC", () => {
    const pair = (options: Partial<ConstructorParameters<typeof SrtpContext>[0]> = {}) => ({
      tx: context({ keys: [key1], ...options }),
      rx: context({ keys: [key1], ...options }),
    });
    const sealed = (tx: SrtpContext, seq: number, ssrc = 7) => {
      const buf = withRoom(rtpPacket({ seq, ssrc, payload: 40 }));
      return buf.subarray(0, tx.protect(buf, buf.length - 64));
    };

    it("rejects a replay and a packet behind the window; accepts reordering inside it", () => {
      const { tx, rx } = pair({ replayWindow: 64 });
      const packets = Array.from({ length: 200 }, (_, seq) => Buffer.from(sealed(tx, seq)));
      rx.unprotect(Buffer.from(packets[150]!));
      for (const seq of [149, 100, 87]) expect(statusOf(() => rx.unprotect(Buffer.from(packets[seq]!)))).toBe("ok");
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[150]!)))).toBe(SrtpStatus.Replayed);
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[100]!)))).toBe(SrtpStatus.Replayed);
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[86]!)))).toBe(SrtpStatus.TooOld);
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[199]!)))).toBe("ok");
    });

    it("follows a sequence wrap with loss, and a late packet from before the wrap", () => {
      const { tx, rx } = pair();
      tx.setIndex(7, 65530, { send: true });
      const seqs = [65531, 65533, 65535, 2, 5, 65534, 9]; // loss around the wrap, 65534 late
      for (const seq of seqs) {
        expect(statusOf(() => rx.unprotect(Buffer.from(sealed(tx, seq))))).toBe("ok");
      }
      expect(rx.getRoc(7)).toBe(1);
      expect(rx.getIndex(7)).toBe(65536 + 9);
      expect(tx.getRoc(7, { send: true })).toBe(1);
    });

    it("late joiner: without the ROC it fails, with setRoc it decrypts from its first packet", () => {
      const { tx } = pair();
      tx.setRoc(7, 3, { send: true });
      const packet = sealed(tx, 100);
      const blind = context({ keys: [key1] });
      expect(statusOf(() => blind.unprotect(Buffer.from(packet)))).toBe(SrtpStatus.AuthFailed);
      const joiner = context({ keys: [key1] });
      joiner.setRoc(7, 3);
      expect(statusOf(() => joiner.unprotect(Buffer.from(packet)))).toBe("ok");
      expect(joiner.getIndex(7)).toBe(3 * 65536 + 100);
    });

    it("setRoc on a live stream keeps the replay window (a re-key message's CS-map ROC mid-stream)", () => {
      const { tx, rx } = pair();
      tx.setIndex(7, 65530, { send: true });
      const packets = [65531, 65533, 1, 2, 65532, 3].map((seq) => Buffer.from(sealed(tx, seq)));
      for (const p of packets.slice(0, 4)) expect(statusOf(() => rx.unprotect(Buffer.from(p)))).toBe("ok");
      rx.setRoc(7, 1); // the ROC the stream has: nothing changes
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[3]!)))).toBe(SrtpStatus.Replayed);
      rx.setRoc(7, 0); // sent before the wrap, delivered after it: stale, nothing changes
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[2]!)))).toBe(SrtpStatus.Replayed);
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[4]!)))).toBe("ok"); // late, from before the wrap
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[5]!)))).toBe("ok");
      expect(rx.getIndex(7)).toBe(65536 + 3);
      // The sender's window is kept too: no index is protected twice (a keystream reused).
      tx.setRoc(7, 1, { send: true });
      expect(statusOf(() => sealed(tx, 3))).toBe(SrtpStatus.Replayed);
    });

    it("a ROC ahead of a live stream (2^15 packets and more missed) gives the next packet's index", () => {
      const { tx, rx } = pair();
      const old = Buffer.from(sealed(tx, 100));
      expect(statusOf(() => rx.unprotect(Buffer.from(old)))).toBe("ok");
      tx.setRoc(7, 5, { send: true });
      const next = Buffer.from(sealed(tx, 40_000));
      expect(statusOf(() => rx.unprotect(Buffer.from(next)))).toBe(SrtpStatus.AuthFailed); // Appendix A cannot know
      rx.setRoc(7, 5);
      expect(rx.getRoc(7)).toBe(5);
      expect(statusOf(() => rx.unprotect(Buffer.from(next)))).toBe("ok");
      expect(rx.getIndex(7)).toBe(5 * 65536 + 40_000);
      expect(statusOf(() => rx.unprotect(Buffer.from(next)))).toBe(SrtpStatus.Replayed);
    });

    it("a rejected packet changes nothing: forged packets neither move the window nor create an SSRC", () => {
      const { tx, rx } = pair();
      const good = Buffer.from(sealed(tx, 10));
      const next = Buffer.from(sealed(tx, 11));
      const forged = Buffer.from(good);
      forged[20]! ^= 1;
      const copy = Buffer.from(forged);
      expect(statusOf(() => rx.unprotect(forged))).toBe(SrtpStatus.AuthFailed);
      expect(forged).toEqual(copy); // the caller's buffer is untouched
      expect(rx.getIndex(7)).toBe(-1);
      expect(statusOf(() => rx.unprotect(good))).toBe("ok");
      const forgedAhead = Buffer.from(sealed(tx, 5000));
      forgedAhead[forgedAhead.length - 1]! ^= 0x80;
      expect(statusOf(() => rx.unprotect(forgedAhead))).toBe(SrtpStatus.AuthFailed);
      expect(rx.getIndex(7)).toBe(10);
      expect(statusOf(() => rx.unprotect(next))).toBe("ok");
    });

    it("the sender refuses to protect an index twice unless allowRepeatTx", () => {
      const { tx } = pair();
      sealed(tx, 1);
      expect(statusOf(() => sealed(tx, 1))).toBe(SrtpStatus.Replayed);
      const repeat = context({ keys: [key1], allowRepeatTx: true });
      const plain = rtpPacket({ seq: 1, ssrc: 7, payload: 40 });
      const twice = [0, 1].map(() => {
        const buf = withRoom(plain);
        return hex(buf.subarray(0, repeat.protect(buf, plain.length)));
      });
      expect(twice[0]).toBe(twice[1]);
    });
  });

  describe("MKI and key switching", () => {
    const k1 = { ...key1, mki: unhex("000000010000000000000001") };
    const k2 = { ...key2, mki: unhex("000000010000000000000002") };

    it("switches the send key; the receiver decrypts both, and old packets still decrypt during the switch", () => {
      const tx = context({ keys: [k1, k2] });
      const rx = context({ keys: [k1] });
      const packets: Buffer[] = [];
      for (let seq = 0; seq < 20; seq++) {
        if (seq === 10) tx.setSendKey(k2.mki);
        const buf = withRoom(rtpPacket({ seq, ssrc: 9, payload: 100 }));
        packets.push(Buffer.from(buf.subarray(0, tx.protect(buf, buf.length - 64))));
      }
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[10]!)))).toBe(SrtpStatus.UnknownMki);
      rx.addKey(k2);
      for (const seq of [0, 1, 10, 2, 11, 12, 3]) expect(statusOf(() => rx.unprotect(Buffer.from(packets[seq]!)))).toBe("ok");
      // Replay state belongs to the SSRC: an old packet replayed under the old MKI is still a replay.
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[1]!)))).toBe(SrtpStatus.Replayed);
      rx.removeKey(k1.mki);
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[5]!)))).toBe(SrtpStatus.UnknownMki);
      expect(statusOf(() => rx.unprotect(Buffer.from(packets[15]!)))).toBe("ok");
      // Its send key gone, the context protects nothing until another is selected.
      const buf = withRoom(rtpPacket({ seq: 1, ssrc: 3, payload: 10 }));
      expect(statusOf(() => rx.protect(buf, buf.length - 64))).toBe(SrtpStatus.UnknownMki);
      rx.setSendKey(k2.mki);
      expect(statusOf(() => rx.protect(buf, buf.length - 64))).toBe("ok");
    });

    it("refuses inconsistent MKIs, duplicate MKIs, unknown MKIs", () => {
      expect(() => context({ keys: [k1, { ...key2, mki: unhex("01") }] })).toThrow(SrtpError);
      expect(() => context({ keys: [k1, k1] })).toThrow(/exists/);
      expect(() => context({ keys: [k1] }).removeKey(k2.mki)).toThrow(expect.objectContaining({ code: "ERR_UNKNOWN_MKI" }));
      expect(() => context({ keys: [k1] }).setSendKey(k2.mki)).toThrow(expect.objectContaining({ code: "ERR_UNKNOWN_MKI" }));
      expect(() => context({ keys: [key1, key2] })).toThrow(/MKI/);
    });
  });

  describe("key_derivation_rate ≠ 0 (which libsrtp and pion refuse)", () => {
    it.each([1, 16, 2 ** 10])("kdr %i: session keys re-derived as r changes, matching the reference", (kdr) => {
      const keys = { key: randomBytes(16), salt: randomBytes(14) };
      const ref = new NodeCryptoSrtp({ ...keys, keyDerivationRate: kdr });
      const tx = context({ keys: [keys], keyDerivationRate: kdr });
      const rx = context({ keys: [keys], keyDerivationRate: kdr });
      const start = 2 ** 10 * 3 - 20; // crosses an r boundary for every kdr
      tx.setIndex(1, start - 1, { send: true });
      for (let i = 0; i < 60; i++) {
        const seq = (start + i) & 0xffff;
        const plain = rtpPacket({ seq, ssrc: 1, payload: 64 });
        const buf = withRoom(plain);
        const n = tx.protect(buf, plain.length);
        expect(hex(buf.subarray(0, n))).toBe(hex(ref.protect(plain, 0)));
        expect(rx.unprotect(buf, n)).toBe(plain.length);
      }
    });
  });

  describe("malformed input and lifecycle", () => {
    it("gives typed statuses for short, bad-version, overrun packets and missing room", () => {
      const rx = context({ keys: [key1] });
      const tx = context({ keys: [key1] });
      const try_ = (b: Uint8Array, len = b.length) => -rx.tryUnprotect(b, len);
      expect(try_(new Uint8Array(11))).toBe(SrtpStatus.TooShort);
      expect(try_(new Uint8Array(40))).toBe(SrtpStatus.BadVersion);
      const csrcOverrun = rtpPacket({ seq: 1, ssrc: 1, payload: 0 });
      csrcOverrun[0] = 0x8f;
      expect(try_(csrcOverrun)).toBe(SrtpStatus.HeaderOverrun);
      const extOverrun = rtpPacket({ seq: 1, ssrc: 1, payload: 30, extensionWords: 1 });
      extOverrun.writeUInt16BE(200, 14);
      expect(try_(extOverrun)).toBe(SrtpStatus.HeaderOverrun);
      expect(try_(rtpPacket({ seq: 1, ssrc: 1, payload: 5 }))).toBe(SrtpStatus.TooShort);
      const exact = rtpPacket({ seq: 1, ssrc: 1, payload: 5 });
      expect(-tx.tryProtect(exact, exact.length)).toBe(SrtpStatus.NoCapacity);
      expect(-tx.tryProtectRtcp(new Uint8Array(7), 7)).toBe(SrtpStatus.TooShort);
      expect(-rx.tryUnprotectRtcp(rtcpPacket(1, 1), 12)).toBe(SrtpStatus.TooShort);
      expect(-rx.tryUnprotect(new Uint8Array(2_000_000), 2_000_000)).toBe(SrtpStatus.BadVersion);
      const huge = new Uint8Array(2_000_000);
      huge[0] = 0x80;
      expect(-rx.tryUnprotect(huge, huge.length)).toBe(SrtpStatus.TooLong);
    });

    it("rejects bad configuration with ERR_CONFIG", () => {
      const bad = [
        { keys: [] },
        { keys: [{ key: new Uint8Array(15), salt: key1.salt }] },
        { keys: [{ key: key1.key, salt: new Uint8Array(12) }] },
        { keys: [key1], profile: "NOPE" as SrtpProfileName },
        { keys: [key1], replayWindow: 32 },
        { keys: [key1], replayWindow: 2 ** 15 + 1 },
        { keys: [key1], keyDerivationRate: 3 },
        { keys: [{ ...key1, mki: new Uint8Array(17) }] },
      ];
      for (const options of bad) {
        expect(() => context(options)).toThrow(expect.objectContaining({ code: "ERR_CONFIG" }));
      }
    });

    it("close() zeroes and frees every slot; the context refuses use afterwards", () => {
      const fresh = loadCore({ flavor });
      const freeBefore = fresh.aesPool.available;
      const memory = new Uint8Array(fresh.arena.buffer);
      const before = memory.slice();
      const ctx = new SrtpContext({ keys: [key1, key2].map((k, i) => ({ ...k, mki: new Uint8Array([i]) })) }, fresh);
      const buf = withRoom(rtpPacket({ seq: 1, ssrc: 1, payload: 10 }));
      ctx.protect(buf, buf.length - 64);
      ctx.close();
      expect(fresh.aesPool.available).toBe(freeBefore);
      expect(memory).toEqual(before);
      expect(() => ctx.protect(buf, 22)).toThrow(expect.objectContaining({ code: "ERR_CLOSED" }));
    });
  });
});
