/**
 * A synthetic RTP source for the demo: packets of a fixed payload size paced to a target bitrate (RTP
 * header + payload bits). Packet n is due at t0 + n · interval; the payload carries n (32 bits) and a
 * pattern derived from it, so a receiver can check what it decrypted. Its RTP sequence number is
 * firstSeq + n (mod 2^16): `send` draws the SSRC at random and registers it per service (ssrc-registry.ts:
 * no two senders share (TEK, SSRC, index), RFC 3711 §9.1), and a receiver learns it from the stream's first
 * authenticated packet (received-streams.ts). `send` draws the first sequence number at random too
 * (RFC 3550 §5.1): a late joiner learns each sender's ROC from the key message (stream-positions.ts,
 * RFC 3711 §3.3.1; other instances' senders through the store, stream-publisher.ts).
 *
 * The sender writes a batch at a time straight into its batch buffer (`writeBatch`): per packet, the
 * header words through one DataView and the pattern copied from a table made once (no object per packet).
 */
import type { PacketBatch } from "../srtp/batch.js";

export const RTP_HEADER = 12;
/** Payload bytes 0..3 carry n; from byte 4 on, byte i is (n + i) & 0xff. */
const PATTERN_FROM = 4;

export interface SyntheticSourceOptions {
  /** Target bitrate in bit/s (RTP header + payload). */
  bitrate: number;
  /** RTP payload bytes (≥ 8). */
  payloadSize: number;
  ssrc: number;
  /** The first packet's RTP sequence number (default 0); packet n has firstSeq + n mod 2^16. */
  firstSeq?: number;
  payloadType?: number;
  /** RTP clock rate for the timestamp (default 90 kHz, video). */
  clockRate?: number;
}

export class SyntheticSource {
  readonly packetsPerSecond: number;
  readonly packetLength: number;
  private readonly payloadType: number;
  private readonly clockRate: number;
  private readonly ssrc: number;
  private readonly firstSeq: number;
  /** patterns[k]: the pattern bytes of every packet n with n & 0xff = k (views of one table). */
  private readonly patterns: Uint8Array[];
  private t0 = 0;
  private next = 0;
  /** A DataView of the last buffer written into, kept while the same buffer comes back. */
  private view: DataView = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | undefined;

  constructor(o: SyntheticSourceOptions) {
    if (!(o.payloadSize >= 8 && o.payloadSize <= 1400)) throw new RangeError("payload size must be 8..1400 bytes");
    if (!(o.bitrate > 0)) throw new RangeError("bitrate must be positive");
    this.packetLength = RTP_HEADER + o.payloadSize;
    this.packetsPerSecond = o.bitrate / (8 * this.packetLength);
    this.payloadType = o.payloadType ?? 96;
    this.clockRate = o.clockRate ?? 90_000;
    this.ssrc = o.ssrc >>> 0;
    this.firstSeq = (o.firstSeq ?? 0) & 0xffff;
    const table = Uint8Array.from({ length: 256 + o.payloadSize }, (_, j) => j & 0xff);
    this.patterns = Array.from({ length: 256 }, (_, k) => table.subarray(k + PATTERN_FROM, k + o.payloadSize));
  }

  start(t0: number): void {
    this.t0 = t0;
    this.next = 0;
  }

  /** Packets written so far. */
  get written(): number {
    return this.next;
  }

  /** How many packets are due at `now` and not yet written. */
  due(now: number): number {
    const upTo = Math.floor(((now - this.t0) / 1000) * this.packetsPerSecond) + 1;
    return Math.max(0, upTo - this.next);
  }

  /** Writes the next packet (header + payload) at buf[0..packetLength); returns its packet number. */
  write(buf: Uint8Array): number {
    const n = this.next++;
    this.writeAt(this.dataView(buf), buf, 0, n);
    return n;
  }

  /**
   * Writes the next `count` packets into `batch`: packet i at batch.offsets[i], its length in
   * batch.lengths[i] (the room after each packet is the caller's); sets batch.count. Returns the first
   * packet's number.
   */
  writeBatch(batch: PacketBatch, count: number): number {
    const { buffer, offsets, lengths } = batch;
    const view = this.dataView(buffer);
    const first = this.next;
    for (let i = 0; i < count; i++) {
      this.writeAt(view, buffer, offsets[i]!, first + i);
      lengths[i] = this.packetLength;
    }
    this.next = first + count;
    batch.count = count;
    return first;
  }

  private writeAt(v: DataView, buf: Uint8Array, at: number, n: number): void {
    v.setUint8(at, 0x80);
    v.setUint8(at + 1, this.payloadType);
    v.setUint16(at + 2, (this.firstSeq + n) & 0xffff);
    v.setUint32(at + 4, Math.floor((n / this.packetsPerSecond) * this.clockRate) >>> 0);
    v.setUint32(at + 8, this.ssrc);
    v.setUint32(at + RTP_HEADER, n >>> 0);
    buf.set(this.patterns[n & 0xff]!, at + RTP_HEADER + PATTERN_FROM);
  }

  private dataView(buf: Uint8Array): DataView {
    if (this.viewOf !== buf) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.viewOf = buf;
    }
    return this.view;
  }
}

/**
 * Checks a decrypted packet of the source with this SSRC and first sequence number; returns its packet
 * number, or -1 if it is not one that source would write.
 */
export function checkPacket(p: Uint8Array, payloadSize: number, ssrc: number, firstSeq = 0): number {
  if (p.length !== RTP_HEADER + payloadSize) return -1;
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const n = v.getUint32(RTP_HEADER);
  if (v.getUint16(2) !== ((firstSeq + n) & 0xffff) || v.getUint32(8) !== ssrc >>> 0) return -1;
  // Spot-check the pattern (first, middle and last bytes): enough to catch a wrong key.
  for (const i of [PATTERN_FROM, PATTERN_FROM + 1, payloadSize >> 1, payloadSize - 1]) {
    if (i >= PATTERN_FROM && p[RTP_HEADER + i] !== ((n + i) & 0xff)) return -1;
  }
  return n;
}
