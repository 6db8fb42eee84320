import { SrtpStatus } from "./errors.js";

/** Fixed RTP header (RFC 3550 §5.1) and the first 8 octets of an RTCP packet that SRTCP leaves in clear. */
export const RTP_FIXED_HEADER = 12;
export const RTCP_CLEAR_HEADER = 8;

/**
 * Length of the RTP header of the packet `buf[at..at+len)`, CSRCs and header extension included, or a
 * negated SrtpStatus when it is malformed. Reads only; never throws, never reads past the packet.
 */
export function rtpHeaderLength(buf: Uint8Array, at: number, len: number): number {
  if (len < RTP_FIXED_HEADER) return -SrtpStatus.TooShort;
  const b0 = buf[at]!;
  if (b0 >> 6 !== 2) return -SrtpStatus.BadVersion;
  let n = RTP_FIXED_HEADER + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    // Header extension: 16-bit profile, 16-bit length in 32-bit words (RFC 3550 §5.3.1).
    if (n + 4 > len) return -SrtpStatus.HeaderOverrun;
    n += 4 + 4 * ((buf[at + n + 2]! << 8) | buf[at + n + 3]!);
  }
  return n > len ? -SrtpStatus.HeaderOverrun : n;
}

export const rtpSequence = (buf: Uint8Array, at: number): number => (buf[at + 2]! << 8) | buf[at + 3]!;

/** The 32-bit SSRC at `at` (8 in RTP, 4 in RTCP), as an unsigned number. */
export const readSsrc = (buf: Uint8Array, at: number): number =>
  ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;

/** Checks the RTCP clear header (first 8 octets: version 2). Returns 0 or a negated SrtpStatus. */
export function rtcpHeaderStatus(buf: Uint8Array, len: number): number {
  if (len < RTCP_CLEAR_HEADER) return -SrtpStatus.TooShort;
  return buf[0]! >> 6 === 2 ? 0 : -SrtpStatus.BadVersion;
}

/** The 32-bit RTP timestamp of the packet at `at`, unsigned (the same read as the SSRC, 4 octets earlier). */
export const rtpTimestamp = (buf: Uint8Array, at: number): number => readSsrc(buf, at + 4);
