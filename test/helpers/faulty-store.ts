// An AsyncKeyStore over a MemoryKeyStore that fails or delays calls on request, and records what was in
// flight: what a network store does (test/bmsc-async-store.test.ts). Delays run on the given clock, so a
// ManualClock decides when a slow call returns.
import type { Clock } from "../../src/clock.js";
import { MbmsError } from "../../src/mbms/errors.js";
import { asyncStore, MemoryKeyStore, type AsyncKeyStore } from "../../src/mbms/bmsc/store/index.js";

type Method = Exclude<keyof AsyncKeyStore, "async">;

/** Calls that write a service's TGKs or TEK_RAND2 (their first argument is the service id, or a TGK record). */
const WRITES: readonly Method[] = ["allocateTgkId", "addTgk", "deleteExpiredTgks", "endTgks", "rotateTekRand2"];

export class FaultyStore {
  readonly memory = new MemoryKeyStore();
  readonly store: AsyncKeyStore;
  /** Each call waits this long on `clock` first (0: none). */
  delayMs = 0;
  /** Calls made, per method. */
  readonly calls = new Map<string, number>();
  /** The most writes (WRITES) ever in flight at once for one service. */
  maxConcurrentWrites = 0;
  #failing = new Map<string, number[]>();
  #writesInFlight = new Map<string, number>();

  constructor(clock: Clock) {
    const inner = asyncStore(this.memory) as unknown as Record<string, unknown>;
    const wrapped: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(inner)) {
      wrapped[name] = typeof v !== "function" ? v : (...args: unknown[]) => this.#call(clock, name as Method, v as (...a: unknown[]) => Promise<unknown>, args);
    }
    this.store = wrapped as unknown as AsyncKeyStore;
  }

  /** Makes the `nth` next call of `method` (1: the very next) reject with ERR_STORE. */
  failNth(method: Method, nth = 1): void {
    const made = this.calls.get(method) ?? 0;
    this.#failing.set(method, [...(this.#failing.get(method) ?? []), made + nth]);
  }

  async #call(clock: Clock, method: Method, fn: (...a: unknown[]) => Promise<unknown>, args: unknown[]): Promise<unknown> {
    const n = (this.calls.get(method) ?? 0) + 1;
    this.calls.set(method, n);
    const write = WRITES.includes(method);
    const serviceId = write ? (typeof args[0] === "string" ? args[0] : (args[0] as { serviceId: string }).serviceId) : "";
    if (write) {
      const inFlight = (this.#writesInFlight.get(serviceId) ?? 0) + 1;
      this.#writesInFlight.set(serviceId, inFlight);
      this.maxConcurrentWrites = Math.max(this.maxConcurrentWrites, inFlight);
    }
    try {
      if (this.delayMs > 0) await new Promise<void>((r) => clock.setTimer(r, this.delayMs));
      if (this.#failing.get(method)?.includes(n)) throw new MbmsError("ERR_STORE", `${method} failed (the database went away)`);
      return await fn(...args);
    } finally {
      if (write) this.#writesInFlight.set(serviceId, this.#writesInFlight.get(serviceId)! - 1);
    }
  }
}
