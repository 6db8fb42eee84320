import { CoreError } from "../errors.js";

/** Hands out the numbered key slots of one core, so that several contexts can share it. */
export class SlotPool {
  private readonly free: number[];

  constructor(readonly kind: string, count: number) {
    this.free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  acquire(): number {
    const slot = this.free.pop();
    if (slot === undefined) throw new CoreError("ERR_SLOTS_EXHAUSTED", `no free ${this.kind} slot in this core`);
    return slot;
  }

  /** Returns a slot; the caller has wiped it. */
  release(slot: number): void {
    this.free.push(slot);
  }

  get available(): number {
    return this.free.length;
  }
}
