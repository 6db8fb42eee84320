// The receive side's bound on streams (SrtpContextOptions.maxStreams): whoever holds the master key — in
// MBMS every subscriber — can make packets that authenticate under any SSRC, and each new SSRC would cost
// the receiver a stream's state. With the bound reached a new SSRC is refused (ERR_STREAM_LIMIT, state
// unchanged) while the known streams go on; the same for SRTCP, and in batches.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadCore, SrtpContext, SrtpError, SrtpStatus, type PacketBatch } from "../src/index.js";
import { SrtpIndexAuthority } from "../src/srtp/index-authority.js";
import { contextsOn } from "./helpers/contexts.js";
import { rtcpPacket, rtpPacket, withRoom } from "./helpers/rtp.js";

const core = loadCore();
const context = contextsOn(core);
const keys = [{ key: randomBytes(16), salt: randomBytes(14) }];

/** An SRTP packet of `ssrc` with sequence number `seq`, protected by `tx`. */
function srtp(tx: SrtpContext, ssrc: number, seq: number): Buffer {
  const buf = withRoom(rtpPacket({ seq, ssrc, payload: 100 }));
  return buf.subarray(0, tx.protect(buf, 112));
}

describe("maxStreams", () => {
  it("SRTP: the first 8 SSRCs are kept, further ones are ERR_STREAM_LIMIT and get no state, the kept ones go on", () => {
    const tx = context({ keys });
    const fresh = context({ keys, maxStreams: 8 });
    for (let s = 1; s <= 20; s++) {
      const p = srtp(tx, 100 + s, 1);
      expect(fresh.tryUnprotect(p, p.length), `ssrc ${100 + s}`).toBe(s <= 8 ? 112 : -SrtpStatus.StreamLimit);
    }
    const err = (() => {
      try {
        const p = srtp(tx, 999, 1);
        fresh.unprotect(p, p.length);
      } catch (e) {
        return e as SrtpError;
      }
    })();
    expect(err).toBeInstanceOf(SrtpError);
    expect([err!.code, err!.status]).toEqual(["ERR_STREAM_LIMIT", SrtpStatus.StreamLimit]);
    for (let s = 1; s <= 8; s++) {
      const p = srtp(tx, 100 + s, 2);
      expect(fresh.tryUnprotect(p, p.length)).toBe(112); // the kept streams are unaffected
      expect(fresh.getIndex(100 + s)).toBe(2);
    }
    expect(fresh.getIndex(100 + 9)).toBe(-1); // no state for the refused ones
  });

  it("SRTCP and batches: the same bound; options outside 1..2^20 are ERR_CONFIG", () => {
    const tx = context({ keys });
    const rx = context({ keys, maxStreams: 4 });
    for (let s = 1; s <= 6; s++) {
      const buf = withRoom(rtcpPacket(s));
      const n = tx.protectRtcp(buf, rtcpPacket(s).length);
      expect(rx.tryUnprotectRtcp(buf, n) > 0, `rtcp ${s}`).toBe(s <= 4);
      if (s > 4) expect(rx.tryUnprotectRtcp(buf, n)).toBe(-SrtpStatus.StreamLimit);
    }
    const packets = Array.from({ length: 6 }, (_, i) => srtp(tx, 500 + i, 7));
    const buffer = new Uint8Array(packets.reduce((a, p) => a + p.length, 0) + 64);
    const offsets = new Int32Array(6), lengths = new Int32Array(6);
    let at = 0;
    packets.forEach((p, i) => {
      buffer.set(p, at);
      offsets[i] = at;
      lengths[i] = p.length;
      at += p.length;
    });
    const first: PacketBatch = { buffer, offsets, lengths, count: 4 };
    expect(rx.unprotectBatch(first)).toBe(4);
    const rest: PacketBatch = { buffer, offsets: offsets.subarray(4), lengths: lengths.subarray(4), count: 2 };
    rx.unprotectBatch(rest);
    expect([...lengths.subarray(4)]).toEqual([-SrtpStatus.StreamLimit, -SrtpStatus.StreamLimit]);
    for (const bad of [0, 1.5, 2 ** 20 + 1]) expect(() => new SrtpContext({ keys, maxStreams: bad }, core)).toThrow(/maxStreams/);
  });

  it("the crypto pool's index authority keeps the same bound at place and at commit", () => {
    const authority = new SrtpIndexAuthority(128, false, 2);
    const plain = (ssrc: number) => rtpPacket({ seq: 5, ssrc, payload: 10 });
    const nextRoc = new Float64Array(1);
    for (const ssrc of [1, 2]) {
      expect(authority.place(plain(ssrc), 0, 22, nextRoc, 0)).toBe(5);
      expect(authority.commit(ssrc, 5)).toBe(0);
    }
    expect(authority.place(plain(3), 0, 22, nextRoc, 0)).toBe(-SrtpStatus.StreamLimit);
    expect(authority.commit(3, 5)).toBe(-SrtpStatus.StreamLimit);
    expect(authority.commit(1, 6)).toBe(0); // a kept stream goes on
  });
});
