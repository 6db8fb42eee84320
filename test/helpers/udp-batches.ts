// Batches for the UDP tests: datagram n is `size(n)` bytes, its first 4 bytes n (big-endian), the rest a
// pattern of n, so a receiver can check every byte and the order.
import type { PacketBatch } from "../../src/srtp/batch.js";

export const turn = () => new Promise<void>((r) => setImmediate(r));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const byteOf = (n: number, j: number) => (n * 31 + j * 7) & 0xff;

/** A send batch of datagrams first..first+count-1 packed back to back, of sizes size(n) ≥ 4. */
export function sendBatch(first: number, count: number, size: (n: number) => number): PacketBatch & { count: number } {
  const sizes = Array.from({ length: count }, (_, i) => size(first + i));
  const buffer = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  const offsets = new Int32Array(count), lengths = new Int32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const n = first + i;
    offsets[i] = at;
    lengths[i] = sizes[i]!;
    new DataView(buffer.buffer).setUint32(at, n);
    for (let j = 4; j < sizes[i]!; j++) buffer[at + j] = byteOf(n, j);
    at += sizes[i]!;
  }
  return { buffer, offsets, lengths, count };
}

/** A receive batch of `slots` slots of `slotBytes` each. */
export function slots(count: number, slotBytes: number): PacketBatch & { count: number } {
  return { buffer: new Uint8Array(count * slotBytes), offsets: Int32Array.from({ length: count }, (_, i) => i * slotBytes), lengths: new Int32Array(count), count: 0 };
}

/** Datagram i of a received batch: its number, or -1 if any byte is not what sendBatch wrote for its size. */
export function check(b: PacketBatch, i: number, size: (n: number) => number): number {
  const at = b.offsets[i]!, len = b.lengths[i]!;
  if (len < 4) return -1;
  const n = new DataView(b.buffer.buffer, b.buffer.byteOffset).getUint32(at);
  if (len !== size(n)) return -1;
  for (let j = 4; j < len; j++) if (b.buffer[at + j] !== byteOf(n, j)) return -1;
  return n;
}
