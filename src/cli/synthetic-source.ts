/**
 * A synthetic RTP source for the demo: packets of a fixed payload size paced to a target bitrate (RTP
 * header + payload bits). Packet n is due at t0 + n · interval; the payload carries n (32 bits) and a
 * pattern derived from it, so a receiver can check what it decrypted.
 */
export const RTP_HEADER = 12;

export interface SyntheticSourceOptions {
  /** Target bitrate in bit/s (RTP header + payload). */
  bitrate: number;
  /** RTP payload bytes (≥ 8). */
  payloadSize: number;
  ssrc: number;
  payloadType?: number;
  /** RTP clock rate for the timestamp (default 90 kHz, video). */
  clockRate?: number;
}

export class SyntheticSource {
  readonly packetsPerSecond: number;
  readonly packetLength: number;
  private t0 = 0;
  private next = 0;

  constructor(private readonly o: SyntheticSourceOptions) {
    if (!(o.payloadSize >= 8 && o.payloadSize <= 1400)) throw new RangeError("payload size must be 8..1400 bytes");
    if (!(o.bitrate > 0)) throw new RangeError("bitrate must be positive");
    this.packetLength = RTP_HEADER + o.payloadSize;
    this.packetsPerSecond = o.bitrate / (8 * this.packetLength);
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
    const v = new DataView(buf.buffer, buf.byteOffset, this.packetLength);
    v.setUint8(0, 0x80);
    v.setUint8(1, this.o.payloadType ?? 96);
    v.setUint16(2, n & 0xffff);
    const rate = this.o.clockRate ?? 90_000;
    v.setUint32(4, Math.floor((n / this.packetsPerSecond) * rate) >>> 0);
    v.setUint32(8, this.o.ssrc >>> 0);
    v.setUint32(RTP_HEADER, n >>> 0);
    for (let i = 4; i < this.o.payloadSize; i++) buf[RTP_HEADER + i] = (n + i) & 0xff;
    return n;
  }
}

/** Checks a decrypted packet; returns its packet number, or -1 if it is not one this source would write. */
export function checkPacket(p: Uint8Array, payloadSize: number, ssrc: number): number {
  if (p.length !== RTP_HEADER + payloadSize) return -1;
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const n = v.getUint32(RTP_HEADER);
  if (v.getUint16(2) !== (n & 0xffff) || v.getUint32(8) !== ssrc >>> 0) return -1;
  // Spot-check the pattern (first, middle and last bytes): enough to catch a wrong key.
  for (const i of [4, 5, payloadSize >> 1, payloadSize - 1]) {
    if (i >= 4 && p[RTP_HEADER + i] !== ((n + i) & 0xff)) return -1;
  }
  return n;
}
