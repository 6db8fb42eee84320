/**
 * The CLI receiver's streams, one per SSRC (UdpMbmsReceiver). A sender's SSRC and first sequence number
 * are random (`send` registers its SSRC per service, ssrc-registry.ts: RFC 3711 §9.1, two senders under one
 * TEK must never share an SSRC), so the receiver knows neither in advance: it learns a stream from the
 * stream's first packet that reaches it. Only authenticated packets do — the decryptor (an MkiEvaluator or
 * a fixed-key context) hands over nothing else, and its SRTP context creates an SSRC's state only once a
 * packet of it authenticates — so forged packets, whatever SSRC they carry, create no state here either.
 * Bounded: at most `maxStreams` streams; the packets of further SSRCs are refused and counted (a key holder
 * can authenticate packets under any SSRC: it must not grow the receiver without bound).
 *
 * Per stream, the checks the receiver always made: with the synthetic source (packet n carries n, sequence
 * number firstSeq + n) the payload and the sequence number against the count, learned from the first
 * packet; counting by RTP sequence number instead (rtp-out, pcap) the number extended to 32 bits. Then
 * duplicates, and the lowest and highest packet numbers (the counting window of receive.ts).
 */
import { RTP_HEADER, checkPacket } from "./synthetic-source.js";

/** Default bound on the streams of one receiver. */
const MAX_STREAMS = 16;
/** Offset of the first extended sequence number, so packets reordered before the first stay ≥ 0. */
const SEQ_BASE = 0x10000;

export interface StreamReport {
  ssrc: number;
  delivered: number;
  duplicates: number;
  /** Lowest and highest packet numbers delivered (-1 before the first). */
  firstPacket: number;
  lastPacket: number;
}

class ReceivedStream {
  delivered = 0;
  duplicates = 0;
  firstPacket = -1;
  lastPacket = -1;
  private seen = new Uint8Array(1 << 13);
  private extSeq = -1;

  constructor(readonly ssrc: number, private readonly firstSeq: number) {}

  /** The packet's number in this stream (synthetic: its count; bySeq: its extended sequence number), or -1. */
  number(p: Uint8Array, payloadSize: number, bySeq: boolean): number {
    return bySeq ? this.seqNumber(p) : checkPacket(p, payloadSize, this.ssrc, this.firstSeq);
  }

  /** Records packet `n`; false for a duplicate. */
  record(n: number, bySeq: boolean): boolean {
    if (n >> 3 >= this.seen.length) {
      const grown = new Uint8Array(Math.max(this.seen.length * 2, (n >> 3) + 1));
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (n & 7);
    if (this.seen[n >> 3]! & bit) {
      this.duplicates++;
      return false;
    }
    this.seen[n >> 3]! |= bit;
    const pn = bySeq ? n - SEQ_BASE : n;
    if (this.firstPacket < 0 || pn < this.firstPacket) this.firstPacket = pn;
    if (pn > this.lastPacket) this.lastPacket = pn;
    this.delivered++;
    return true;
  }

  /** Forgets what was counted (not the SSRC, first sequence number or sequence extension learned). */
  reset(): void {
    this.seen.fill(0);
    this.delivered = this.duplicates = 0;
    this.firstPacket = this.lastPacket = -1;
  }

  /** The RTP sequence number extended to 32 bits (plus SEQ_BASE), -1 for a packet too short to be RTP. */
  private seqNumber(p: Uint8Array): number {
    if (p.length < RTP_HEADER) return -1;
    const s = (p[2]! << 8) | p[3]!;
    if (this.extSeq < 0) return (this.extSeq = SEQ_BASE + s);
    const delta = ((s - (this.extSeq & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    const n = this.extSeq + delta;
    if (n < 0) return -1;
    if (n > this.extSeq) this.extSeq = n;
    return n;
  }
}

const ssrcOf = (p: Uint8Array): number => ((p[8]! << 24) | (p[9]! << 16) | (p[10]! << 8) | p[11]!) >>> 0;

export class ReceivedStreams {
  /** Packets that are not what the stream's sender writes (or too short for RTP). */
  badPackets = 0;
  /** Authenticated packets of SSRCs beyond `maxStreams` (not delivered). */
  refused = 0;
  private readonly streams = new Map<number, ReceivedStream>();
  /** The first stream learned: its window is the receiver's firstPacket..lastPacket. */
  private primary: ReceivedStream | undefined;
  private placed: ReceivedStream | undefined;
  private placedNumber = -1;

  constructor(private readonly payloadSize: number, private readonly bySeq: boolean, private readonly maxStreams = MAX_STREAMS) {}

  /**
   * Places an authenticated packet in its SSRC's stream (learned now if new, within the bound); true if it
   * checks out. Then `commit` counts it. False: counted as bad or refused.
   */
  place(p: Uint8Array): boolean {
    this.placed = undefined;
    if (p.length < RTP_HEADER) {
      this.badPackets++;
      return false;
    }
    const ssrc = ssrcOf(p);
    let s = this.streams.get(ssrc);
    if (s === undefined) {
      if (this.streams.size >= this.maxStreams) {
        this.refused++;
        return false;
      }
      // The synthetic source's first sequence number: the packet's own minus the count it carries.
      const firstSeq = p.length >= RTP_HEADER + 4 ? (((p[2]! << 8) | p[3]!) - new DataView(p.buffer, p.byteOffset).getUint32(RTP_HEADER)) & 0xffff : 0;
      if (!this.bySeq && checkPacket(p, this.payloadSize, ssrc, firstSeq) < 0) {
        this.badPackets++; // not a stream of ours: not learned
        return false;
      }
      s = new ReceivedStream(ssrc, firstSeq);
      this.streams.set(ssrc, s);
      this.primary ??= s;
    }
    const n = s.number(p, this.payloadSize, this.bySeq);
    if (n < 0) {
      this.badPackets++;
      return false;
    }
    this.placed = s;
    this.placedNumber = n;
    return true;
  }

  /** Counts the packet `place` accepted last; false for a duplicate. */
  commit(): boolean {
    return this.placed !== undefined && this.placed.record(this.placedNumber, this.bySeq);
  }

  get delivered(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.delivered;
    return n;
  }

  get duplicates(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.duplicates;
    return n;
  }

  /** Packet numbers from each stream's first to its last, summed: what was sent while counting. */
  get span(): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.firstPacket >= 0) n += s.lastPacket - s.firstPacket + 1;
    return n;
  }

  get firstPacket(): number {
    return this.primary?.firstPacket ?? -1;
  }

  get lastPacket(): number {
    return this.primary?.lastPacket ?? -1;
  }

  report(): StreamReport[] {
    return [...this.streams.values()].map((s) => ({ ssrc: s.ssrc, delivered: s.delivered, duplicates: s.duplicates, firstPacket: s.firstPacket, lastPacket: s.lastPacket }));
  }

  /** Restarts the counting (the streams learned stay). */
  reset(): void {
    for (const s of this.streams.values()) s.reset();
    this.badPackets = this.refused = 0;
  }
}
