/**
 * Gathers the datagrams a socket delivers in one event-loop turn (libuv reads up to 32 per readiness) into
 * one buffer, packed back to back, and hands them on as one PacketBatch at the end of the turn
 * (setImmediate) or as soon as the buffer is full, so the SRTP batch path can verify four tags at a time.
 * Order is kept; a datagram larger than the buffer is handed on alone. The batch's bytes are reused after
 * the sink returns: a sink that keeps a packet copies it.
 *
 * A turn that read fewer than 32 datagrams emptied the socket's queue (libuv reads up to 32 or 33 per
 * wake-up and stops earlier only when the kernel has nothing more): `onDrained` is called then, before
 * that turn's last batch is handed on.
 */
import type { PacketBatch } from "../srtp/batch.js";

const MAX_PACKETS = 32;
/** Fewer reads than this in one turn: the socket's queue is empty (libuv's uv__udp_recvmsg loop bound). */
const LIBUV_READS_PER_WAKEUP = 32;
const BUFFER_BYTES = MAX_PACKETS * 1500;

export class DatagramBatcher {
  private readonly batch = {
    buffer: new Uint8Array(BUFFER_BYTES), offsets: new Int32Array(MAX_PACKETS), lengths: new Int32Array(MAX_PACKETS), count: 0,
  };
  private used = 0;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private readonly onTurnEnd = () => {
    this.immediate = undefined;
    if (this.readThisTurn < LIBUV_READS_PER_WAKEUP) this.onDrained();
    this.readThisTurn = 0;
    this.flush();
  };

  private readThisTurn = 0;
  private closed = false;

  constructor(
    private readonly sink: (batch: PacketBatch) => void,
    private readonly single: (datagram: Uint8Array) => void,
    private readonly onDrained: () => void = () => undefined,
  ) {}

  add(datagram: Uint8Array): void {
    if (this.closed) return;
    this.readThisTurn++;
    this.immediate ??= setImmediate(this.onTurnEnd);
    const b = this.batch;
    if (this.used + datagram.length > b.buffer.length) this.flush();
    if (datagram.length > b.buffer.length) {
      this.single(datagram);
      return;
    }
    b.buffer.set(datagram, this.used);
    b.offsets[b.count] = this.used;
    b.lengths[b.count] = datagram.length;
    this.used += datagram.length;
    if (++b.count === MAX_PACKETS) this.flush();
  }

  /** Hands on what is gathered now. */
  flush(): void {
    if (this.batch.count === 0) return;
    try {
      this.sink(this.batch);
    } finally {
      this.batch.count = 0;
      this.used = 0;
    }
  }

  /** Drops what is gathered (nothing more is handed on) and wipes the buffer. */
  close(): void {
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.batch.count = this.used = this.readThisTurn = 0;
    this.batch.buffer.fill(0);
  }
}
