// Property: the batch API is packet-by-packet processing. Seeded random streams (several SSRCs, new ones
// and late joiners told the ROC, sequence wraps, loss, jumps, reordering, replays, forged tags, malformed
// packets) cut into random batches give, for every packet, the status and bytes of protect / unprotect.
import { describe, expect, it } from "vitest";
import { loadCore, SrtpContext, type PacketBatch } from "../src/index.js";
import { prng } from "./helpers/prng.js";

const TRIALS = 40;
const TRAILER_ROOM = 32;

type Rand = (n: number) => number;

/** One RTP packet: 12-byte header and `payload` bytes from `rand`. */
function rtp(rand: Rand, ssrc: number, seq: number, payload: number): Uint8Array {
  const p = new Uint8Array(12 + payload);
  const v = new DataView(p.buffer);
  p[0] = 0x80;
  p[1] = 96;
  v.setUint16(2, seq & 0xffff);
  v.setUint32(4, rand(2 ** 31));
  v.setUint32(8, ssrc >>> 0);
  for (let i = 12; i < p.length; i++) p[i] = rand(256);
  return p;
}

/** Cuts `packets` into batches of 1..`max` (each packet with room for the trailer after it). */
function cut(rand: Rand, packets: Uint8Array[], max: number): PacketBatch[] {
  const batches: PacketBatch[] = [];
  for (let i = 0; i < packets.length; ) {
    const part = packets.slice(i, i + 1 + rand(max));
    i += part.length;
    const offsets = new Int32Array(part.length), lengths = new Int32Array(part.length);
    let at = 0;
    part.forEach((p, k) => {
      offsets[k] = at;
      lengths[k] = p.length;
      at += p.length + TRAILER_ROOM + rand(3) * 4;
    });
    const buffer = new Uint8Array(at);
    part.forEach((p, k) => buffer.set(p, offsets[k]!));
    batches.push({ buffer, offsets, lengths });
  }
  return batches;
}

/** Each packet through `single` (try form, own copy) and, cut into batches, through `batch`: [status, bytes]. */
function bothWays(
  rand: Rand, packets: Uint8Array[],
  single: (buf: Uint8Array, len: number) => number, batch: (b: PacketBatch) => number,
): { singly: [number, string][]; batched: [number, string][] } {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  const singly = packets.map((p): [number, string] => {
    const buf = new Uint8Array(p.length + TRAILER_ROOM);
    buf.set(p);
    const r = single(buf, p.length);
    return [r, hex(buf.subarray(0, r >= 0 ? r : p.length))];
  });
  const batched: [number, string][] = [];
  for (const b of cut(rand, packets, 24)) {
    const inputs = Array.from(b.lengths);
    const accepted = batch(b);
    expect(accepted).toBe(Array.from(b.lengths).filter((r) => r >= 0).length);
    b.lengths.forEach((r, k) => {
      const at = b.offsets[k]!;
      batched.push([r, hex(b.buffer.subarray(at, at + (r >= 0 ? r : inputs[k]!)))]);
    });
  }
  return { singly, batched };
}

describe.each(["simd", "scalar"] as const)("%s build: batch ≡ packet by packet", (flavor) => {
  const core = loadCore({ flavor });
  const keys = [{ key: new Uint8Array(16).fill(0x5a), salt: new Uint8Array(14).fill(0xa5) }];
  const pair = () => [new SrtpContext({ keys }, core), new SrtpContext({ keys }, core)] as const;

  it(`${TRIALS} random multi-SSRC streams across wraps: every status and byte of protect and unprotect`, () => {
    let batchRefusals = 0, received = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const rand = prng(0xb47c4 + trial);
      const [tx1, tx2] = pair(), [rx1, rx2] = pair();
      // SSRCs: new to the receiver at ROC 0, or late joiners told a ROC; each starts a few packets before a wrap.
      const ssrcs = Array.from({ length: 1 + rand(4) }, (_, s) => {
        const ssrc = 0x1000 * (trial + 1) + s;
        const roc = rand(2) === 0 ? 0 : 1 + rand(1000);
        const start = roc * 65536 + 65536 - 1 - rand(40);
        for (const tx of [tx1, tx2]) tx.setIndex(ssrc, start, { send: true });
        if (roc > 0) for (const rx of [rx1, rx2]) rx.setRoc(ssrc, roc);
        return { ssrc, seq: start + 1 };
      });

      // Plain packets for the senders: mostly the next sequence number, some loss and jumps, repeats.
      const plains: Uint8Array[] = [];
      for (let k = 0; k < 200 + rand(200); k++) {
        const s = ssrcs[rand(ssrcs.length)]!;
        const r = rand(100);
        if (r < 3) s.seq -= 1 + rand(3); // an index already protected: refused as a repeat
        else if (r < 8) s.seq += rand(30_000); // a jump the index estimate still follows
        else if (r < 20) s.seq += 1 + rand(5); // loss
        plains.push(rtp(rand, s.ssrc, s.seq++, rand(60)));
      }
      plains.splice(rand(plains.length), 0, new Uint8Array(8)); // malformed: too short for a header
      const tx = bothWays(rand, plains, (b, n) => tx1.tryProtect(b, n), (b) => tx2.protectBatch(b));
      expect(tx.batched).toEqual(tx.singly);

      // What the receivers get: the sealed packets reordered nearby, replayed, forged, plus noise.
      const sealed = tx.singly.filter(([r]) => r >= 0).map(([, h]) => new Uint8Array(Buffer.from(h, "hex")));
      const inputs: Uint8Array[] = [];
      for (const p of sealed) {
        const r = rand(100);
        if (r < 10 && inputs.length > 0) inputs.splice(inputs.length - 1 - rand(Math.min(inputs.length, 6)), 0, p);
        else inputs.push(p);
        if (r >= 90) inputs.push(inputs[rand(inputs.length)]!.slice()); // replay of something earlier
        if (r >= 85 && r < 90) {
          const forged = p.slice();
          forged[forged.length - 1 - rand(10)]! ^= 1 << rand(8); // forged tag
          inputs.splice(inputs.length - rand(2), 0, forged); // before or after the genuine one
        }
        if (r === 84) inputs.push(rtp(rand, 0xdead0000 + rand(4), rand(65536), 30)); // unknown SSRC, no valid tag
      }
      const rx = bothWays(rand, inputs, (b, n) => rx1.tryUnprotect(b, n), (b) => rx2.unprotectBatch(b));
      expect(rx.batched).toEqual(rx.singly);
      for (const s of ssrcs) expect(rx2.getIndex(s.ssrc)).toBe(rx1.getIndex(s.ssrc));
      batchRefusals += rx.singly.filter(([r]) => r < 0).length;
      received += rx.singly.filter(([r]) => r >= 0).length;
      [tx1, tx2, rx1, rx2].forEach((c) => c.close());
    }
    // The streams did exercise both outcomes (and every wrap decrypted: most packets are received).
    expect(batchRefusals).toBeGreaterThan(TRIALS * 20);
    expect(received).toBeGreaterThan(TRIALS * 150);
  });
});
