/**
 * Which BM-SC instance owns a service's schedule (issue 11: several instances on one store). The owner of
 * the store lease "schedule/<service>" (store/lease.ts) is the only one that rotates TEK_RAND2 and
 * generates TGKs; the others only read the store and announce what it holds (TekRotation.follow).
 *
 * Every schedule step of a service renews (or tries to take) the lease first, and a step runs at least every
 * `ttlMs / 3`: a live owner renews twice before its lease could expire, and after an owner dies (no release)
 * its lease expires within `ttlMs` and the next step of another instance takes it — takeover within
 * ttlMs + ttlMs / 3 (4 s with the default 3 s). An instance writes only while the lease it last renewed has
 * more than a third of its TTL left, and a failed lease call makes it a reader until a call succeeds: two
 * owners at once would need a step to outlast ttlMs / 3 (and even then rotateTekRand2 is compare-and-set).
 * Clocks of the instances must agree to well within the TTL.
 */
import type { Clock } from "../../clock.js";
import type { Logger } from "../../logger.js";
import { MbmsError } from "../errors.js";
import type { AsyncKeyStore } from "./store/index.js";

export interface ScheduleLeaseOptions {
  /** This instance's name in the lease rows (default: random). */
  owner?: string;
  /** Lease time, ms (default 3000): how long a dead owner holds the schedule. */
  ttlMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 3000;

const randomOwner = (): string => `bmsc-${[...globalThis.crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

export class ScheduleLease {
  readonly owner: string;
  readonly ttlMs: number;
  /** Lease calls that failed (each logged with its code; the instance wrote nothing until the next success). */
  failures = 0;
  readonly #store: AsyncKeyStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** serviceId → expiry of the lease this instance holds. */
  readonly #held = new Map<string, number>();
  /** serviceId → the owner the last successful lease call named (this instance or another). */
  readonly #owners = new Map<string, string>();

  constructor(store: AsyncKeyStore, clock: Clock, log: Logger, options: ScheduleLeaseOptions) {
    this.owner = options.owner ?? randomOwner();
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 30) throw new MbmsError("ERR_ARGUMENT", "lease ttlMs must be an integer of at least 30 ms");
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
  }

  /** How often a step must run at the latest, for the renewals (and a follower's takeover). */
  get stepMs(): number {
    return Math.floor(this.ttlMs / 3);
  }

  /** Renews or takes the service's lease; whether this instance owns the schedule now. Never rejects. */
  async own(serviceId: string): Promise<boolean> {
    const had = this.#held.has(serviceId);
    this.#held.delete(serviceId);
    try {
      const l = await this.#store.acquireLease(`schedule/${serviceId}`, this.owner, this.ttlMs, this.#clock.now());
      if (l.acquired) this.#held.set(serviceId, l.expiresAt);
      this.#owners.set(serviceId, l.owner);
      if (l.acquired !== had) this.#log("info", l.acquired ? "schedule lease taken" : "schedule lease lost", { serviceId, owner: l.owner });
    } catch (e) {
      this.failures++;
      this.#log("error", "schedule lease failed", { serviceId, code: (e as { code?: string }).code ?? "unknown" });
    }
    return this.holds(serviceId);
  }

  /** Whether this instance may write the service's schedule now (its lease has over a third of its TTL left). */
  holds(serviceId: string): boolean {
    const expiresAt = this.#held.get(serviceId);
    return expiresAt !== undefined && this.#clock.now() < expiresAt - this.stepMs;
  }

  /** Renews or takes each service's lease; ERR_NOT_OWNER (notOwner) at the first one another instance owns. */
  async ownEach(serviceIds: readonly string[], what: string): Promise<void> {
    for (const id of new Set(serviceIds)) if (!(await this.own(id))) throw this.notOwner(id, what);
  }

  /** ERR_NOT_OWNER naming the service's owner (or that the store could not be asked), then `what`. */
  notOwner(serviceId: string, what: string): MbmsError {
    const owner = this.#owners.get(serviceId);
    const who = owner === undefined || owner === this.owner ? "another instance (the lease could not be renewed)" : `instance ${JSON.stringify(owner)}`;
    return new MbmsError("ERR_NOT_OWNER", `the schedule of ${JSON.stringify(serviceId)} is owned by ${who}: ${what}`);
  }

  /** Gives up the leases held (a clean stop: another instance takes over at its next step). Never rejects. */
  async release(): Promise<void> {
    const ids = [...this.#held.keys()];
    this.#held.clear();
    await Promise.all(ids.map((id) => this.#store.releaseLease(`schedule/${id}`, this.owner).catch(() => false)));
  }
}
