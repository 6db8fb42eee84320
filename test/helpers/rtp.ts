// Builders for RTP/RTCP test packets.
import { randomBytes, randomInt } from "node:crypto";

export interface RtpShape {
  seq: number;
  ssrc: number;
  payload: number; // payload bytes
  csrcs?: number; // 0..15
  extensionWords?: number; // header extension length in 32-bit words; undefined = no extension
  marker?: boolean;
  timestamp?: number;
}

/** An RTP packet with random payload and CSRC/extension contents. */
export function rtpPacket(shape: RtpShape): Buffer {
  const cc = shape.csrcs ?? 0;
  const ext = shape.extensionWords;
  const header = 12 + 4 * cc + (ext === undefined ? 0 : 4 + 4 * ext);
  const p = Buffer.concat([Buffer.alloc(header), randomBytes(shape.payload)]);
  p[0] = 0x80 | (ext === undefined ? 0 : 0x10) | cc;
  p[1] = (shape.marker ? 0x80 : 0) | 96;
  p.writeUInt16BE(shape.seq & 0xffff, 2);
  p.writeUInt32BE((shape.timestamp ?? 0) >>> 0, 4);
  p.writeUInt32BE(shape.ssrc >>> 0, 8);
  randomBytes(4 * cc).copy(p, 12);
  if (ext !== undefined) {
    const at = 12 + 4 * cc;
    p.writeUInt16BE(0xbede, at);
    p.writeUInt16BE(ext, at + 2);
    randomBytes(4 * ext).copy(p, at + 4);
  }
  return p;
}

export function randomRtpShape(seq: number, ssrc: number): RtpShape {
  return {
    seq,
    ssrc,
    payload: randomInt(0, 1401),
    csrcs: randomInt(0, 4) === 0 ? randomInt(0, 16) : 0,
    extensionWords: randomInt(0, 3) === 0 ? randomInt(0, 8) : undefined,
    marker: randomInt(0, 2) === 1,
    timestamp: randomInt(0, 2 ** 32),
  };
}

/** An RTCP sender report (PT 200) of `words` 32-bit words after the header, random contents. */
export function rtcpPacket(ssrc: number, words = 6): Buffer {
  const p = Buffer.concat([Buffer.alloc(8), randomBytes(4 * words)]);
  p[0] = 0x80;
  p[1] = 200;
  p.writeUInt16BE(words + 1, 2);
  p.writeUInt32BE(ssrc >>> 0, 4);
  return p;
}

/** Copies `packet` into a buffer with `spare` bytes of room after it. */
export function withRoom(packet: Uint8Array, spare = 64): Buffer {
  const b = Buffer.alloc(packet.length + spare);
  b.set(packet);
  return b;
}
