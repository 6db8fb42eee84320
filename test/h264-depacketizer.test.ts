// The H.264 RTP depacketizer (RFC 6184) on hand-built packets: each payload structure, reordering,
// duplicates, loss and resynchronisation at the next IDR, wrap-around of sequence number and timestamp,
// hostile input (never throws, memory bounded) and the codec string of known SPS bytes.
import { describe, expect, it } from "vitest";
import { H264Depacketizer, H264Error, avcCodecString, type H264AccessUnit, type H264DepacketizerOptions } from "../src/index.js";
import { hex, nalUnits } from "./helpers/annexb.js";
import { prng, shuffleWithin } from "./helpers/prng.js";

// x264 baseline 1280x720 SPS (profile 66, constraints 0xC0, level 31) and a PPS.
const SPS = Uint8Array.from([0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x24, 0x80]);
const PPS = Uint8Array.from([0x68, 0xcb, 0x83, 0xcb, 0x20]);
const AUD = Uint8Array.from([0x09, 0xf0]);
const SEI = Uint8Array.from([0x06, 0x05, 0x01, 0xaa, 0x80]);

/** A slice NAL unit: IDR (type 5) or not (type 1), first_mb_in_slice 0 unless `continues`, `size` bytes. */
function slice(idr: boolean, size: number, fill: number, continues = false): Uint8Array {
  const n = new Uint8Array(size).fill(fill);
  n[0] = idr ? 0x65 : 0x41;
  n[1] = continues ? 0x40 : 0x88; // ue(v) 0 is the bit 1; 0b010 is first_mb_in_slice = 1
  return n;
}

interface Rtp {
  seq: number;
  ts: number;
  marker?: boolean;
  pt?: number;
  ssrc?: number;
  csrcs?: number;
  extWords?: number;
  pad?: number;
}

function rtp(h: Rtp, payload: Uint8Array): Uint8Array {
  const cc = h.csrcs ?? 0;
  const ext = h.extWords === undefined ? 0 : 4 + 4 * h.extWords;
  const head = 12 + 4 * cc + ext;
  const pad = h.pad ?? 0;
  const p = new Uint8Array(head + payload.length + pad).fill(0xee);
  const v = new DataView(p.buffer);
  p[0] = 0x80 | (pad ? 0x20 : 0) | (h.extWords === undefined ? 0 : 0x10) | cc;
  p[1] = (h.marker ? 0x80 : 0) | (h.pt ?? 96);
  v.setUint16(2, h.seq & 0xffff);
  v.setUint32(4, h.ts >>> 0);
  v.setUint32(8, h.ssrc ?? 0x1234);
  if (h.extWords !== undefined) v.setUint32(12 + 4 * cc, (0xbede << 16) | h.extWords);
  p.set(payload, head);
  if (pad) p[p.length - 1] = pad;
  return p;
}

function stapA(...nals: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(1 + nals.reduce((s, n) => s + 2 + n.length, 0));
  out[0] = 0x18 | (nals[0]![0]! & 0x60);
  let at = 1;
  for (const n of nals) {
    out[at] = n.length >> 8;
    out[at + 1] = n.length & 0xff;
    out.set(n, at + 2);
    at += 2 + n.length;
  }
  return out;
}

/** FU-A fragments of `nal`, at most `chunk` bytes of it each. */
function fuA(nal: Uint8Array, chunk: number): Uint8Array[] {
  const frags: Uint8Array[] = [];
  for (let at = 1; at < nal.length; at += chunk) {
    const part = nal.subarray(at, Math.min(nal.length, at + chunk));
    const f = new Uint8Array(2 + part.length);
    f[0] = (nal[0]! & 0xe0) | 28;
    f[1] = (at === 1 ? 0x80 : 0) | (at + chunk >= nal.length ? 0x40 : 0) | (nal[0]! & 0x1f);
    f.set(part, 2);
    frags.push(f);
  }
  return frags;
}

/** A stream: one payload list per access unit, numbered from `seq`, 3000 ticks (30 fps) apart from `ts`. */
function packets(units: Uint8Array[][], seq = 1000, ts = 90_000): Uint8Array[] {
  const out: Uint8Array[] = [];
  units.forEach((payloads, k) => payloads.forEach((p, i) => out.push(rtp({ seq: seq++, ts: ts + 3000 * k, marker: i === payloads.length - 1 }, p))));
  return out;
}

const annexB = (...nals: Uint8Array[]): string => nals.map((n) => `00000001${hex(n)}`).join("");

function run(input: Uint8Array[], options: Partial<H264DepacketizerOptions> = {}) {
  const out: H264AccessUnit[] = [];
  const d = new H264Depacketizer({ onAccessUnit: (au) => out.push(au), ...options });
  const scratch = new Uint8Array(2048);
  for (const p of input) {
    // The caller's buffer is reused: anything the depacketizer kept by reference would be overwritten.
    scratch.set(p);
    d.push(scratch.subarray(0, p.length));
    scratch.fill(0x5a);
  }
  d.flush(); // end of stream: holes still waited for are given up
  return { out, d, stats: d.stats };
}

const IDR = slice(true, 900, 0x11);
const P = (k: number, size = 700) => slice(false, size, 0x20 + k);
/** IDR AU (STAP-A SPS+PPS, then the IDR slice in FU-A pieces) followed by `pFrames` single-packet P frames. */
const gop = (pFrames: number, chunk = 300): Uint8Array[][] => [[stapA(SPS, PPS), ...fuA(IDR, chunk)], ...Array.from({ length: pFrames }, (_, k) => [P(k)])];

describe("H264Depacketizer: payload structures (RFC 6184 §5.6–5.8)", () => {
  it("single NAL unit packets: SPS, PPS, IDR → one key AU in Annex B with the codec; a P frame → a delta AU", () => {
    const { out, stats } = run(packets([[SPS, PPS, IDR], [P(1)]]));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ key: true, timestamp: 90_000, codec: "avc1.42C01F" });
    expect(hex(out[0]!.data)).toBe(annexB(SPS, PPS, IDR));
    expect(out[1]).toEqual({ key: false, timestamp: 93_000, data: out[1]!.data });
    expect(hex(out[1]!.data)).toBe(annexB(P(1)));
    expect(stats).toMatchObject({ packets: 4, accessUnits: 2, keyFrames: 1, framesDropped: 0, lost: 0, malformed: 0, waitingForKeyFrame: false });
    expect(stats.bytes).toBe(out[0]!.data.length + out[1]!.data.length);
  });

  it("STAP-A with several NAL units (parameter sets, SEI and two slices of one picture)", () => {
    const s1 = slice(true, 40, 0x31);
    const s2 = slice(true, 50, 0x32, true);
    const { out } = run(packets([[stapA(SPS, PPS, SEI, s1, s2)], [stapA(P(1, 30), slice(false, 20, 0x44, true))]]));
    expect(out.map((a) => hex(a.data))).toEqual([annexB(SPS, PPS, SEI, s1, s2), annexB(P(1, 30), slice(false, 20, 0x44, true))]);
  });

  it("FU-A across many packets rebuilds the NAL unit (header from F/NRI and the FU type)", () => {
    const big = slice(true, 20_000, 0x77);
    for (let i = 2; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const frags = fuA(big, 1000);
    expect(frags).toHaveLength(20);
    const { out, stats } = run(packets([[stapA(SPS, PPS), ...frags]]));
    expect(out).toHaveLength(1);
    expect(nalUnits(out[0]!.data).map(hex)).toEqual([SPS, PPS, big].map(hex));
    expect(stats.malformed).toBe(0);
  });

  it("reads the payload after CSRCs and a header extension, and before padding", () => {
    const p = rtp({ seq: 5, ts: 1, marker: true, csrcs: 3, extWords: 2, pad: 7 }, stapA(SPS, PPS, IDR));
    const { out } = run([p]);
    expect(hex(out[0]!.data)).toBe(annexB(SPS, PPS, IDR));
  });

  it("prepends the last SPS and PPS to an IDR AU without them (after a leading AUD), not to P frames", () => {
    const { out } = run(packets([[stapA(SPS, PPS), IDR], [P(0)], [AUD, IDR], [AUD, P(1)]]));
    expect(out.map((a) => a.key)).toEqual([true, false, true, false]);
    expect(hex(out[2]!.data)).toBe(annexB(AUD, SPS, PPS, IDR));
    expect(out[2]!.codec).toBe("avc1.42C01F");
    expect(hex(out[3]!.data)).toBe(annexB(AUD, P(1)));
  });

  it("ends an AU when the timestamp changes even without the marker bit", () => {
    const input = [rtp({ seq: 1, ts: 10 }, stapA(SPS, PPS, IDR)), rtp({ seq: 2, ts: 3010 }, P(0)), rtp({ seq: 3, ts: 6010, marker: true }, P(1))];
    const { out } = run(input);
    expect(out.map((a) => [a.timestamp, a.key])).toEqual([[10, true], [3010, false], [6010, false]]);
  });

  it("drops pictures before the first IDR, and an IDR with no SPS/PPS ever seen", () => {
    const { out, stats } = run(packets([[P(0)], [IDR], [P(1)], [stapA(SPS, PPS), IDR], [P(2)]]));
    expect(out.map((a) => a.timestamp)).toEqual([90_000 + 9000, 90_000 + 12_000]);
    expect(stats.framesDropped).toBe(3);
  });

  it("refuses STAP-B, MTAP16/24 and FU-B (the AU is lost); skips types 0, 30 and 31", () => {
    for (const type of [25, 26, 27, 29]) {
      const { out, stats } = run(packets([[stapA(SPS, PPS), Uint8Array.of(type, 0, 4, 1, 2, 3, 4), IDR], [P(0)]]));
      expect(out, `type ${type}`).toEqual([]);
      expect(stats).toMatchObject({ unsupported: 1, framesDropped: 2 });
    }
    const { out, stats } = run(packets([[stapA(SPS, PPS), Uint8Array.of(30, 1), Uint8Array.of(0, 1), IDR], [Uint8Array.of(31, 5), P(0)]]));
    expect(out.map((a) => hex(a.data))).toEqual([annexB(SPS, PPS, IDR), annexB(P(0))]);
    expect(stats.unsupported).toBe(3);
  });

  it("filters on the payload type when configured and on the first SSRC", () => {
    const good = packets([[stapA(SPS, PPS), IDR]]);
    const other = [rtp({ seq: 2000, ts: 5, marker: true, pt: 97 }, IDR), rtp({ seq: 1001, ts: 5, marker: true, ssrc: 9 }, IDR)];
    const { out, stats } = run([...good, ...other], { payloadType: 96 });
    expect(out).toHaveLength(1);
    expect(stats.unsupported).toBe(2);
  });
});

describe("H264Depacketizer: reordering, duplicates, loss (RFC 3550 A.1)", () => {
  const stream = packets(gop(10));
  const inOrder = run(stream).out.map((a) => hex(a.data));

  it("restores the order of packets shuffled within the window", () => {
    const shuffled = shuffleWithin(stream, 8, prng(7));
    expect(shuffled).not.toEqual(stream);
    const { out, stats } = run(shuffled);
    expect(out.map((a) => hex(a.data))).toEqual(inOrder);
    expect(inOrder).toHaveLength(11);
    expect(stats.reordered).toBeGreaterThan(3);
    expect(stats).toMatchObject({ lost: 0, late: 0, framesDropped: 0 });
  });

  it("drops duplicates, right after the original and after it was handed on", () => {
    const doubled = stream.flatMap((p, i) => (i % 2 ? [p, p] : [p]));
    doubled.push(stream[3]!, stream[0]!);
    const { out, stats } = run(doubled);
    expect(out.map((a) => hex(a.data))).toEqual(inOrder);
    expect(stats.duplicates).toBe(Math.floor(stream.length / 2) + 2);
    expect(stats.late).toBe(0);
  });

  it("loss inside an FU: that AU and the P frames after it are dropped until the next IDR, then output resumes", () => {
    const two = packets([...gop(3), ...gop(2)]);
    const lostAt = 2; // the IDR's second FU-A fragment
    const { out, stats, d } = run(two.filter((_, i) => i !== lostAt));
    expect(out.map((a) => a.timestamp)).toEqual([90_000 + 4 * 3000, 90_000 + 5 * 3000, 90_000 + 6 * 3000]);
    expect(out[0]!.key).toBe(true);
    expect(stats).toMatchObject({ lost: 1, framesDropped: 4, keyFrames: 1, accessUnits: 3, waitingForKeyFrame: false });
    // A late copy of the lost packet is refused.
    d.push(two[lostAt]!);
    expect(d.stats.late).toBe(1);
  });

  it("a whole P frame lost just before an IDR: the IDR (its first slice is there) and what follows are emitted", () => {
    const units = [...gop(2), ...gop(2)];
    const lostAt = units[0]!.length + 1; // the second P frame, one packet
    const { out, stats } = run(packets(units).filter((_, i) => i !== lostAt));
    expect(out.map((a) => a.key)).toEqual([true, false, true, false, false]);
    expect(stats).toMatchObject({ lost: 1, framesDropped: 0, accessUnits: 5 });
  });

  it("goes on waiting when the next IDR is broken too, and resumes at the one after", () => {
    const units = [...gop(2), ...gop(2), ...gop(1)];
    const s = packets(units);
    const secondIdr = units[0]!.length + 2;
    const { out, stats } = run(s.filter((_, i) => i !== 4 && i !== secondIdr + 2));
    expect(out.map((a) => [a.timestamp, a.key])).toEqual([[90_000, true], [90_000 + 6 * 3000, true], [90_000 + 7 * 3000, false]]);
    // Dropped: P1 (after the lost P0), the broken IDR, its two P frames. P0 never arrived: lost, not dropped.
    expect(stats).toMatchObject({ lost: 2, framesDropped: 4 });
  });

  it("declares a hole lost once a later AU is complete behind it, without waiting for the window to fill", () => {
    // P frames of 7 FU-A packets each; one packet of the third is lost.
    const units = [gop(0)[0]!, ...Array.from({ length: 8 }, (_, k) => fuA(P(k), 100))];
    const s = packets(units);
    const lostAt = units[0]!.length + 2 * 7 + 3;
    const d = new H264Depacketizer({ onAccessUnit: () => {} });
    let declaredAfter = -1;
    s.forEach((p, i) => {
      if (i === lostAt) return;
      d.push(p);
      if (declaredAfter < 0 && d.stats.lost === 1) declaredAfter = i - lostAt;
    });
    // Given up once 16 packets (a quarter of the window) are held and an AU among them is complete: long
    // before 64 are.
    expect(declaredAfter).toBe(16);
    expect(d.stats).toMatchObject({ lost: 1, accessUnits: 3, framesDropped: 6, waitingForKeyFrame: true });
  });

  it("declares a hole lost when the window is full (no marker anywhere)", () => {
    const d = new H264Depacketizer({ onAccessUnit: () => {}, reorderPackets: 4 });
    const frags = fuA(slice(true, 3000, 1), 100);
    frags.slice(0, 4).forEach((f, i) => i !== 1 && d.push(rtp({ seq: i, ts: 0 }, f)));
    expect(d.stats.lost).toBe(0);
    frags.slice(4).forEach((f, i) => d.push(rtp({ seq: i + 4, ts: 0 }, f)));
    expect(d.stats.lost).toBe(1);
    expect(d.stats.late).toBe(0);
  });

  it("follows the sequence number and the timestamp across their wrap", () => {
    const s = packets(gop(8), 65_530, 2 ** 32 - 3 * 3000);
    const { out, stats } = run(s);
    expect(stats).toMatchObject({ lost: 0, accessUnits: 9 });
    expect(out.map((a) => a.timestamp)).toEqual(Array.from({ length: 9 }, (_, k) => 2 ** 32 - 9000 + 3000 * k));
    expect(out.at(-1)!.timestamp).toBeGreaterThan(2 ** 32);
    // Reordered across the wrap too (two one-packet AUs swapped: not mistaken for a loss).
    const swapped = s.slice();
    const w = swapped.findIndex((p) => p[2] === 0 && p[3] === 0);
    [swapped[w - 1], swapped[w + 1]] = [swapped[w + 1]!, swapped[w - 1]!];
    expect(run(swapped).out.map((a) => hex(a.data))).toEqual(out.map((a) => hex(a.data)));
  });

  it("reset() forgets the stream: a new SSRC and sequence start cleanly", () => {
    const { d, out } = run(packets(gop(1)));
    d.reset();
    expect(d.stats).toMatchObject({ packets: 0, accessUnits: 0, waitingForKeyFrame: true });
    for (const p of packets([[P(0)], [IDR]], 7, 5)) d.push(p);
    expect(d.stats).toMatchObject({ accessUnits: 0, framesDropped: 2 }); // the SPS/PPS were forgotten too
    expect(out).toHaveLength(2);
  });
});

describe("H264Depacketizer: hostile input", () => {
  it("counts malformed packets and payloads, never throws", () => {
    const ok = (h: Partial<Rtp>, payload: Uint8Array) => rtp({ seq: 1, ts: 0, marker: true, ...h }, payload);
    const bad = [
      new Uint8Array(0), new Uint8Array(11).fill(0x80),
      Uint8Array.of(0x40, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65), // version 1
      ok({}, IDR).subarray(0, 12).map((b, i) => (i === 0 ? 0x8f : b)), // 15 CSRCs that are not there
      ok({ extWords: 1000 }, IDR).subarray(0, 30), // extension longer than the packet
      ok({ pad: 5 }, P(0, 100)).map((b, i, a) => (i === a.length - 1 ? 250 : b)), // padding longer than the packet
      ok({ pad: 1 }, IDR).map((b, i, a) => (i === a.length - 1 ? 0 : b)), // padding count 0
      ok({}, new Uint8Array(0)), // empty payload
      new Uint8Array(70_000).fill(0x80), // larger than any UDP datagram
    ];
    const { out, stats } = run(bad.slice(0, -1));
    const d = new H264Depacketizer({ onAccessUnit: () => {} });
    d.push(bad.at(-1)!);
    expect(out).toEqual([]);
    expect(stats.malformed).toBe(bad.length - 1);
    expect(d.stats.malformed).toBe(1);

    const payloads = [
      [stapA(SPS, PPS).map((b, i) => (i === 1 ? 0xff : b))], // giant STAP-A length
      [Uint8Array.of(24)], // STAP-A with no unit
      [Uint8Array.of(24, 0, 2, 24, 1)], // STAP-A holding a STAP-A
      [Uint8Array.of(28)], // FU-A without its header
      [Uint8Array.of(0x7c, 0xc5, 1, 2)], // FU-A with S and E
      [fuA(IDR, 300)[0]!], // FU start, then the AU ends (marker)
      [fuA(IDR, 300)[0]!, P(0)], // FU start, then another NAL unit
      [fuA(IDR, 300)[1]!], // FU middle without a start
    ];
    for (const [k, units] of payloads.entries()) {
      const r = run(packets([[stapA(SPS, PPS), IDR], units, [P(1)], [IDR]]));
      expect(r.stats.malformed, `case ${k}`).toBe(1);
      expect(r.out.map((a) => a.key), `case ${k}`).toEqual([true, true]); // the broken AU and the P frame after it dropped
    }
  });

  it("drops an AU larger than maxAccessUnitBytes and goes on with the next IDR", () => {
    const big = slice(true, 5000, 3);
    const { out, stats } = run(packets([[stapA(SPS, PPS), ...fuA(big, 1000)], [P(0)], [stapA(SPS, PPS), IDR]]), { maxAccessUnitBytes: 4096 });
    expect(out.map((a) => hex(a.data))).toEqual([annexB(SPS, PPS, IDR)]);
    expect(stats.framesDropped).toBe(2);
  });

  it("fuzz: random and mutated packets never throw, and memory stays within its bounds", () => {
    const rnd = prng(0x264);
    const valid = packets([...gop(5, 200), ...gop(5, 200)]);
    const max = 8192;
    let emitted = 0;
    const d = new H264Depacketizer({ maxAccessUnitBytes: max, reorderPackets: 16, onAccessUnit: (au) => {
      emitted++;
      expect(au.data.length).toBeLessThanOrEqual(max + 4 + SPS.length + 4 + PPS.length);
      expect(nalUnits(au.data).length).toBeGreaterThan(0);
    } });
    const N = 30_000;
    let seq = 0;
    for (let i = 0; i < N; i++) {
      const mode = rnd(4);
      let p: Uint8Array;
      if (mode === 0) p = Uint8Array.from({ length: rnd(1600) }, () => rnd(256));
      else {
        p = valid[rnd(valid.length)]!.slice(0, mode === 1 ? 12 + rnd(1400) : undefined);
        p[0] = 0x80 | (p[0]! & 0x3f);
        for (let f = rnd(4); f > 0; f--) {
          const k = rnd(p.length);
          p[k] = p[k]! ^ (1 << rnd(8));
        }
        if (mode === 3) p[12] = (p[12]! & 0xe0) | [24, 28, 25, 29, 30, 0][rnd(6)]!;
        if (mode >= 2) {
          // In sequence, so that the payload parsing and AU assembly see them rather than the reorder buffer.
          p[0] = 0x80 | (p[0]! & 0x0f);
          p[2] = (seq >> 8) & 0xff;
          p[3] = seq++ & 0xff;
          p.set([0, 0, 0x12, 0x34], 8);
        }
      }
      d.push(p);
    }
    const s = d.stats;
    expect(s.packets).toBe(N);
    expect(s.malformed + s.unsupported).toBeGreaterThan(N / 10);
    expect(s.accessUnits).toBe(emitted);
    // The access-unit buffer never grows past its bound; the reorder slots never past a datagram.
    const inner = d as unknown as { au: { buf: Uint8Array }; reorder: { data: Uint8Array[] } };
    expect(inner.au.buf.length).toBeLessThanOrEqual(max);
    expect(inner.reorder.data).toHaveLength(16);
    expect(Math.max(...inner.reorder.data.map((b) => b.length))).toBeLessThanOrEqual(2048);
    // Still sound afterwards.
    d.reset();
    for (const p of valid) d.push(p);
    expect(d.stats).toMatchObject({ accessUnits: 12, malformed: 0, lost: 0 });
  });
});

describe("avcCodecString (RFC 6381 §3.3)", () => {
  it("reads profile_idc, the constraint flags and level_idc of known SPS", () => {
    expect(avcCodecString(SPS)).toBe("avc1.42C01F");
    // x264 High 4.0 (1080p) and Main 3.1.
    expect(avcCodecString(Uint8Array.from([0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78]))).toBe("avc1.640028");
    expect(avcCodecString(Uint8Array.from([0x27, 0x4d, 0x40, 0x1f, 0xb9]))).toBe("avc1.4D401F");
    expect(avcCodecString(PPS)).toBeUndefined();
    expect(avcCodecString(SPS.subarray(0, 3))).toBeUndefined();
  });

  it("is a typed error to configure the depacketizer out of range", () => {
    const cb = () => {};
    for (const bad of [{ reorderPackets: 3 }, { reorderPackets: 2048 }, { maxAccessUnitBytes: 10 }, { payloadType: 128 }, { onAccessUnit: 5 }]) {
      expect(() => new H264Depacketizer({ onAccessUnit: cb, ...bad } as H264DepacketizerOptions)).toThrow(H264Error);
    }
    try {
      new H264Depacketizer({ onAccessUnit: cb, reorderPackets: 0 });
    } catch (e) {
      expect((e as H264Error).code).toBe("ERR_CONFIG");
    }
  });
});
