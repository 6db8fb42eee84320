import { SrtpError } from "./errors.js";

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

/**
 * Checks a batch's shape before any packet is touched (a malformed batch is the caller's bug: it throws,
 * and no packet's state has changed). Returns the packet count.
 */
export function checkBatch(batch: PacketBatch): number {
  const count = batch.count ?? batch.offsets.length;
  const { buffer, offsets, lengths } = batch;
  if (!(Number.isInteger(count) && count >= 0 && count <= offsets.length && count <= lengths.length)) {
    throw new SrtpError("ERR_ARGUMENT", "batch count exceeds its offsets or lengths");
  }
  let previousEnd = 0;
  for (let i = 0; i < count; i++) {
    const at = offsets[i]!, len = lengths[i]!;
    const end = i + 1 < count ? offsets[i + 1]! : buffer.length;
    if (!(at >= previousEnd && len >= 0 && at + len <= end && end <= buffer.length)) {
      throw new SrtpError("ERR_ARGUMENT", `batch packet ${i} is out of order, overlapping or outside the buffer`);
    }
    previousEnd = at + len;
  }
  return count;
}
