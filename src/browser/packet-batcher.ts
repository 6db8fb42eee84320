/**
 * Datagrams from the relay, gathered into one PacketBatch (src/srtp/batch.ts) so that the MKI evaluator
 * decrypts them in one call: handed over when the batch is full, or at the end of the current task (a
 * zero-delay timer), whichever comes first. One copy per datagram (into the batch buffer), no allocation.
 */
import type { PacketBatch } from "../srtp/batch.js";

/** An SRTP datagram from the relay is at most this long (the relay forwards UDP datagrams of an MTU). */
export const MAX_DATAGRAM = 2048;

export class PacketBatcher {
  readonly batch: PacketBatch & { count: number };
  /** Datagrams longer than MAX_DATAGRAM (or empty), dropped. */
  oversize = 0;
  #scheduled = false;

  constructor(
    private readonly onBatch: (batch: PacketBatch) => void,
    capacity = 64,
    private readonly schedule: (run: () => void) => void = (run) => void setTimeout(run, 0),
  ) {
    const offsets = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) offsets[i] = i * MAX_DATAGRAM;
    this.batch = { buffer: new Uint8Array(capacity * MAX_DATAGRAM), offsets, lengths: new Int32Array(capacity), count: 0 };
  }

  add(datagram: Uint8Array): void {
    if (datagram.length === 0 || datagram.length > MAX_DATAGRAM) {
      this.oversize++;
      return;
    }
    const b = this.batch;
    b.buffer.set(datagram, b.offsets[b.count]!);
    b.lengths[b.count++] = datagram.length;
    if (b.count === b.offsets.length) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      this.schedule(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.batch.count === 0) return;
    this.onBatch(this.batch);
    this.batch.count = 0;
  }
}
