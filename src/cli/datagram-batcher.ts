/**
 * Reads a batched UDP socket (src/net/batch-udp.ts) straight into one PacketBatch of fixed 2048-byte slots
 * (native I/O: one recvmmsg per batch, no Buffer per datagram) and hands each batch on, so the SRTP batch
 * path can verify four tags at a time. Order is kept. A datagram longer than a slot arrives with length 0
 * (counted by the socket as truncated). The batch's bytes are reused after the sink returns: a sink that
 * keeps a packet copies it.
 *
 * When a read leaves the socket's queue empty, `onDrained` is called, before that read's batch is handed on.
 */
import type { PacketBatch } from "../srtp/batch.js";
import type { BatchUdpSocket } from "../net/batch-udp.js";

const SLOTS = 64;
/** Room per datagram: an MTU-sized SRTP packet with any MKI and tag. */
export const SLOT_BYTES = 2048;
/** Batches read per readiness callback before yielding to the event loop (the socket calls again). */
const BATCHES_PER_WAKEUP = 16;

export class DatagramBatcher {
  private readonly batch = {
    buffer: new Uint8Array(SLOTS * SLOT_BYTES), offsets: Int32Array.from({ length: SLOTS }, (_, i) => i * SLOT_BYTES),
    lengths: new Int32Array(SLOTS), count: 0,
  };
  private closed = false;

  constructor(
    private readonly sock: BatchUdpSocket,
    private readonly sink: (batch: PacketBatch) => void,
    private readonly onDrained: () => void = () => undefined,
  ) {}

  /** Starts reading whenever datagrams wait. */
  start(): void {
    this.sock.onReadable(() => this.read());
  }

  private read(): void {
    for (let i = 0; i < BATCHES_PER_WAKEUP && !this.closed; i++) {
      const n = this.sock.receive(this.batch);
      if (this.sock.drained) this.onDrained();
      if (n > 0) this.sink(this.batch);
      if (n < SLOTS) return;
    }
  }

  /** Stops reading (nothing more is handed on) and wipes the buffer; the socket stays open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.onReadable(undefined);
    this.batch.count = 0;
    this.batch.buffer.fill(0);
  }
}
