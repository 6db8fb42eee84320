/**
 * The pool's entries in flight, oldest first, in fixed-size arrays (a batch or one worker's part of a key
 * op): which worker and slot, the caller's batch and span, and the promise to settle when it is collected.
 */
import type { PacketBatch } from "../srtp/batch.js";

interface Entry {
  batch: PacketBatch | undefined;
  span: number;
  resolve: (n: number) => void;
  reject: (e: Error) => void;
}

export class PendingQueue {
  private readonly workers: Int32Array;
  private readonly slots: Int32Array;
  private readonly entries: Entry[];
  private first = 0;
  private size = 0;
  private onDrained: (() => void) | undefined;

  constructor(readonly capacity: number) {
    this.workers = new Int32Array(capacity);
    this.slots = new Int32Array(capacity);
    this.entries = Array.from({ length: capacity }, () => ({ batch: undefined, span: 0, resolve: () => {}, reject: () => {} }));
  }

  get length(): number {
    return this.size;
  }

  get headWorker(): number {
    return this.workers[this.first]!;
  }

  get headSlot(): number {
    return this.slots[this.first]!;
  }

  get head(): Entry {
    return this.entries[this.first]!;
  }

  push(worker: number, slot: number, batch: PacketBatch | undefined, span: number): Promise<number> {
    const i = (this.first + this.size) % this.capacity;
    this.size++;
    this.workers[i] = worker;
    this.slots[i] = slot;
    const e = this.entries[i]!;
    e.batch = batch;
    e.span = span;
    return new Promise<number>((resolve, reject) => {
      e.resolve = resolve;
      e.reject = reject;
    });
  }

  /** Settles the oldest entry: rejected with `error`, or resolved with `result`. */
  shift(error: Error | undefined, result = 0): void {
    const e = this.entries[this.first]!;
    this.first = (this.first + 1) % this.capacity;
    this.size--;
    const { resolve, reject } = e;
    e.batch = undefined;
    if (error) reject(error);
    else resolve(result);
    if (this.size === 0) this.onDrained?.();
  }

  failAll(error: Error): void {
    while (this.size > 0) this.shift(error);
  }

  /** Resolves once no entry is in flight (settled either way). */
  drained(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onDrained = resolve));
  }
}
