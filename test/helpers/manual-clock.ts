// A Clock (src/clock.ts) that moves only when told: hours of key periods run in milliseconds, and the
// order of timers is deterministic.
import type { Clock } from "../../src/clock.js";

interface Timer {
  at: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, Timer>();

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, delayMs: number): unknown {
    const id = ++this.#seq;
    // Whole milliseconds, as Date.now() and setTimeout: with advanceSettled, what a timer starts (a key
    // request to a store that checks its times are integers) runs while the clock stands at the timer's time.
    this.#timers.set(id, { at: this.#now + Math.ceil(Math.max(0, delayMs)), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running due timers in order (timers they set run too if due). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let t = this.#nextDue(end); t; t = this.#nextDue(end)) t.fn();
    this.#now = end;
  }

  /** As advance, letting promises settle before and after each timer (for async roles: the key client). */
  async advanceSettled(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (let t = this.#nextDue(end); t; t = this.#nextDue(end)) {
      t.fn();
      await settle();
    }
    this.#now = end;
  }

  /** Takes the earliest timer due by `end` off the list and moves the time to it. */
  #nextDue(end: number): Timer | undefined {
    let next: [number, Timer] | undefined;
    for (const e of this.#timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
    if (!next) return undefined;
    this.#timers.delete(next[0]);
    this.#now = Math.max(this.#now, next[1].at);
    return next[1];
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
