/**
 * The shape checks both UDP backends make before any syscall: a send batch is a PacketBatch (the rule of
 * src/srtp/batch.ts), a receive batch is a row of non-empty, ascending slots inside its buffer.
 */
import { checkBatch, type PacketBatch } from "../srtp/batch.js";
import { UdpError } from "./udp-error.js";

/** Datagrams per send or receive call (the native addon's bound too). */
export const MAX_BATCH = 1024;

/** The datagrams to send; throws ERR_UDP_ARGUMENT for a malformed batch. */
export function sendCount(batch: PacketBatch): number {
  let count: number;
  try {
    count = checkBatch(batch);
  } catch (e) {
    throw new UdpError("ERR_UDP_ARGUMENT", (e as Error).message.replace(/^ERR_ARGUMENT: /, ""));
  }
  if (count > MAX_BATCH) throw new UdpError("ERR_UDP_ARGUMENT", `batch of ${count} datagrams: at most ${MAX_BATCH}`);
  return count;
}

/** The slots to read into; throws ERR_UDP_ARGUMENT for a malformed batch or `max`. */
export function receiveSlots(batch: PacketBatch, max: number = batch.offsets.length): number {
  const { buffer, offsets, lengths } = batch;
  if (!(Number.isInteger(max) && max >= 0 && max <= offsets.length && max <= lengths.length && max <= MAX_BATCH)) {
    throw new UdpError("ERR_UDP_ARGUMENT", `receive max must be an integer in 0..${Math.min(offsets.length, lengths.length, MAX_BATCH)}`);
  }
  for (let i = 0; i < max; i++) {
    const at = offsets[i]!, next = i + 1 < max ? offsets[i + 1]! : buffer.length;
    if (!(at >= 0 && next > at && next <= buffer.length)) {
      throw new UdpError("ERR_UDP_ARGUMENT", `receive slot ${i} is empty, out of order or outside the buffer`);
    }
  }
  return max;
}

/** Checks a destination index against the destinations added so far. */
export function checkDestination(dest: number, destinations: number): void {
  if (!(Number.isInteger(dest) && dest >= 0 && dest < destinations)) {
    throw new UdpError("ERR_UDP_ARGUMENT", destinations === 0 ? "no destination: addDestination() first" : `dest must be 0..${destinations - 1}`);
  }
}
