/**
 * Several RTP packets in one buffer, for the batch API: packet i is `buffer[offsets[i] .. offsets[i] +
 * lengths[i])`, packets in ascending, non-overlapping order. On protect each packet needs
 * `trailerLength` bytes of room after it. The batch call replaces `lengths[i]` with the new length, or
 * with a negated SrtpStatus for a refused packet (whose bytes are left untouched).
 */
export interface PacketBatch {
  buffer: Uint8Array;
  offsets: Int32Array;
  lengths: Int32Array;
  /** Packets in the batch (default: offsets.length). */
  count?: number;
}
