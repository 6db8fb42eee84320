// src/cli/synthetic-source.ts: writeBatch lays packets into a batch buffer byte for byte as RFC 3550 and
// the source's own rules say (header fields, timestamp from the packet number, pattern from n), across the
// wraps of the pattern table (256 packets) and of the sequence number (65536), and write() continues the
// same numbering; checkPacket accepts each packet and refuses one with a wrong byte.
import { describe, expect, it } from "vitest";
import { checkPacket, RTP_HEADER, SyntheticSource } from "../src/cli/synthetic-source.js";

const PAYLOAD = 20;
const SSRC = 0xdeadbeef;
const PPS = 1000;

/** Packet n as the source's rules say, built independently (Buffer writes, no table). */
function expected(n: number): Buffer {
  const p = Buffer.alloc(RTP_HEADER + PAYLOAD);
  p[0] = 0x80;
  p[1] = 97;
  p.writeUInt16BE(n & 0xffff, 2);
  p.writeUInt32BE(Math.floor((n / PPS) * 8000) % 2 ** 32, 4);
  p.writeUInt32BE(SSRC, 8);
  p.writeUInt32BE(n % 2 ** 32, RTP_HEADER);
  for (let i = 4; i < PAYLOAD; i++) p[RTP_HEADER + i] = (n + i) % 256;
  return p;
}

describe("SyntheticSource", () => {
  it("writeBatch writes packets 0..N into the batch's slots, with the room after each left alone; write() goes on from there", () => {
    const source = new SyntheticSource({ bitrate: PPS * 8 * (RTP_HEADER + PAYLOAD), payloadSize: PAYLOAD, ssrc: SSRC, payloadType: 97, clockRate: 8000 });
    source.start(0);
    const stride = RTP_HEADER + PAYLOAD + 5;
    const batch = { buffer: new Uint8Array(7 * stride), offsets: Int32Array.from({ length: 7 }, (_, i) => i * stride), lengths: new Int32Array(7), count: 0 };
    const total = 65536 + 300;
    for (let first = 0; first < total;) {
      const count = Math.min(5 + (first % 3), total - first); // batches of 5..7, not aligned to 256
      batch.buffer.fill(0xaa);
      expect(source.writeBatch(batch, count)).toBe(first);
      expect(batch.count).toBe(count);
      for (let i = 0; i < count; i++) {
        const at = batch.offsets[i]!;
        expect(batch.lengths[i]).toBe(RTP_HEADER + PAYLOAD);
        const p = batch.buffer.subarray(at, at + RTP_HEADER + PAYLOAD);
        if (!Buffer.from(p).equals(expected(first + i))) expect(Buffer.from(p).toString("hex")).toBe(expected(first + i).toString("hex"));
        expect(checkPacket(p, PAYLOAD, SSRC)).toBe(first + i);
        expect(batch.buffer.subarray(at + RTP_HEADER + PAYLOAD, at + stride).every((b) => b === 0xaa)).toBe(true);
      }
      first += count;
    }
    expect(source.written).toBe(total);
    const one = new Uint8Array(RTP_HEADER + PAYLOAD);
    expect(source.write(one)).toBe(total);
    expect(Buffer.from(one).equals(expected(total))).toBe(true);
    one[RTP_HEADER + PAYLOAD - 1]! ^= 1;
    expect(checkPacket(one, PAYLOAD, SSRC)).toBe(-1);
  });

  it("due() counts the packets of the bitrate up to now, less those written", () => {
    const source = new SyntheticSource({ bitrate: PPS * 8 * (RTP_HEADER + PAYLOAD), payloadSize: PAYLOAD, ssrc: SSRC });
    source.start(10_000);
    expect(source.due(10_000)).toBe(1); // packet 0 is due at t0
    expect(source.due(10_999)).toBe(1000);
    const batch = { buffer: new Uint8Array(600 * (RTP_HEADER + PAYLOAD)), offsets: Int32Array.from({ length: 600 }, (_, i) => i * (RTP_HEADER + PAYLOAD)), lengths: new Int32Array(600) };
    source.writeBatch(batch, 600);
    expect(source.due(10_999)).toBe(400);
    expect(source.due(10_100)).toBe(0);
  });
});
