// Leases in the store: a named row held by one owner until `expiresAt`, so that of several BM-SC instances
// on one database exactly one does a thing at a time — the owner of "schedule/<service>" rotates TEK_RAND2
// and generates TGKs (session-manager.ts), the owner of "ssrc/<service>/<ssrc>" sends with that SSRC
// (ssrc-registry.ts). `acquireLease` is one atomic step: it takes a free or expired lease, renews the
// caller's own, and otherwise returns the holder. Times are the callers' clocks (Date.now() of each
// instance): instances on one database need clocks that agree to well within the TTL.
import { MbmsError } from "../../errors.js";

/** The lease after an acquireLease call. */
export interface Lease {
  readonly name: string;
  /** The holder after the call: the caller when `acquired`. */
  readonly owner: string;
  readonly expiresAt: number;
  /** Whether the caller holds the lease until `expiresAt`. */
  readonly acquired: boolean;
}

const MAX_NAME = 256;

export function checkLease(name: unknown, owner: unknown, ttlMs?: unknown, now?: unknown): void {
  for (const [what, v] of [["lease name", name], ["lease owner", owner]] as const) {
    if (typeof v !== "string" || v.length === 0 || v.length > MAX_NAME) {
      throw new MbmsError("ERR_ARGUMENT", `${what} must be a string of 1..${MAX_NAME} characters`);
    }
  }
  if (ttlMs === undefined) return;
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new MbmsError("ERR_ARGUMENT", "lease TTL must be a positive integer of milliseconds");
  if (typeof now !== "number" || !Number.isSafeInteger(now) || now < 0) throw new MbmsError("ERR_ARGUMENT", "now must be a non-negative integer of milliseconds");
}

/** The rule every backend applies, on the row it read (undefined: none). */
export function leaseAfter(row: { owner: string; expiresAt: number } | undefined, name: string, owner: string, ttlMs: number, now: number): Lease {
  if (row && row.owner !== owner && row.expiresAt > now) return { name, owner: row.owner, expiresAt: row.expiresAt, acquired: false };
  return { name, owner, expiresAt: now + ttlMs, acquired: true };
}
