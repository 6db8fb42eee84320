/**
 * The shared memory between the I/O thread and one crypto worker: a ring of `slots` batch slots in one
 * SharedArrayBuffer, each with a state word the two threads hand over with Atomics (FREE → WORK by the
 * I/O thread, WORK → DONE by the worker, DONE → FREE by the I/O thread once it has taken the results).
 * The worker serves its slots in ring order, the I/O thread fills and collects them in the same order.
 *
 * A slot holds an op and its arguments, a PacketBatch (offsets, lengths, bytes), each packet's 48-bit
 * index (a float64, exact) and, on receive, the index one ROC later to try when the tag fails under the
 * first (a late joiner's signalled ROC; -1: none). Views are made once per slot: nothing is allocated per
 * packet or per batch.
 */
import type { PacketBatch } from "../srtp/batch.js";

export const FREE = 0;
export const WORK = 1;
export const DONE = 2;

/** What a slot asks the worker to do. */
export const OP_PROTECT = 1;
export const OP_UNPROTECT = 2;
export const OP_ADD_KEY = 3; // data = key ‖ salt ‖ mki; args: key, salt and MKI lengths
export const OP_REMOVE_KEY = 4; // data = mki; arg0 its length
export const OP_SET_SEND_KEY = 5; // data = mki; arg0 its length
export const OP_CLOSE = 6; // zero the keys and the ring, then exit

/** ctl words: the op, three arguments, the result (packets done) and the length of an error code in data. */
export const CTL_OP = 0;
export const CTL_ARG0 = 1;
export const CTL_ARG1 = 2;
export const CTL_ARG2 = 3;
export const CTL_RESULT = 4;
export const CTL_ERROR = 5;
const CTL_WORDS = 8;

export interface RingShape {
  slots: number;
  /** Packets per batch, at most. */
  maxPackets: number;
  /** Bytes of a batch's span (its last packet's end, trailer included), at most. */
  slotBytes: number;
}

export class RingSlot {
  readonly ctl: Int32Array;
  readonly indices: Float64Array;
  /** Receive: packet i's index under the next ROC, tried if its tag fails under indices[i] (-1: none). */
  readonly nextRoc: Float64Array;
  readonly batch: PacketBatch & { count: number };

  constructor(sab: SharedArrayBuffer, at: number, shape: RingShape) {
    const n = shape.maxPackets;
    this.indices = new Float64Array(sab, at, n);
    this.nextRoc = new Float64Array(sab, at + 8 * n, n);
    const words = at + 16 * n;
    this.ctl = new Int32Array(sab, words, CTL_WORDS);
    const offsets = new Int32Array(sab, words + 4 * CTL_WORDS, n);
    const lengths = new Int32Array(sab, words + 4 * CTL_WORDS + 4 * n, n);
    const buffer = new Uint8Array(sab, words + 4 * CTL_WORDS + 8 * n, shape.slotBytes);
    this.batch = { buffer, offsets, lengths, count: 0 };
  }

  static bytes(shape: RingShape): number {
    return (16 * shape.maxPackets + 4 * CTL_WORDS + 8 * shape.maxPackets + shape.slotBytes + 7) & ~7;
  }
}

export class BatchRing {
  /** One state word per slot (FREE, WORK, DONE). */
  readonly state: Int32Array;
  readonly slots: RingSlot[];
  private readonly bytes: Uint8Array;

  constructor(readonly sab: SharedArrayBuffer, readonly shape: RingShape) {
    const head = (4 * shape.slots + 7) & ~7;
    this.state = new Int32Array(sab, 0, shape.slots);
    this.slots = Array.from({ length: shape.slots }, (_, i) => new RingSlot(sab, head + i * RingSlot.bytes(shape), shape));
    this.bytes = new Uint8Array(sab);
  }

  static create(shape: RingShape): BatchRing {
    return new BatchRing(new SharedArrayBuffer(((4 * shape.slots + 7) & ~7) + shape.slots * RingSlot.bytes(shape)), shape);
  }

  /** Zeroes every slot's bytes (plaintext, key material of key ops); the state words too. */
  wipe(): void {
    this.bytes.fill(0);
  }
}
