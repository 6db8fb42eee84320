/**
 * Retrieval windows (implosion mitigation: the BM-SC assigns windows, docs/mbms-flows.md). A user that
 * received TGKs up to expiry E must come back in [E − lead, E − lead/2), lead = the service's nextTgkLeadMs.
 * That window is cut into `slots` equal slots; each user gets one, by hash of (user, service, last TGK-ID)
 * or at random, and is told the slot's start and length; the UE picks a uniformly random time inside it.
 */
import { MbmsError } from "../errors.js";

export type RekeySpread = "hash" | "random";

export interface WindowRequest {
  userId: string;
  serviceId: string;
  /** Expiry and TGK-ID of the last TGK the user received. */
  lastExpiry: number;
  lastTgkId: number;
  now: number;
  nextTgkLeadMs: number;
  slots: number;
  spread: RekeySpread;
}

/** The user's slot: `from` and `window` (ms), never before `now` and never past `lastExpiry`. */
export function retrievalWindow(r: WindowRequest): { from: number; window: number } {
  const base = r.lastExpiry - r.nextTgkLeadMs;
  const total = Math.max(1, Math.floor(r.nextTgkLeadMs / 2));
  const slots = Math.min(r.slots, total);
  const slot = r.spread === "hash"
    ? fnv1a(`${r.userId}\u0000${r.serviceId}\u0000${r.lastTgkId}`) % slots
    : randomBelow(slots);
  const slotLen = Math.floor(total / slots);
  let from = base + slot * slotLen;
  let window = slot === slots - 1 ? total - slot * slotLen : slotLen;
  if (from < r.now) {
    // Late (the BM-SC was behind its schedule): come back soon, spread over what is left before expiry.
    from = r.now;
    window = Math.max(1, Math.min(window, r.lastExpiry - r.now));
  }
  return { from, window };
}

/**
 * A uniform integer in [0, n) from the CSPRNG, 1 <= n <= 2^32: rejection sampling drops the top
 * 2^32 mod n values of a u32, so that `x % n` has no modulo bias.
 */
export function randomBelow(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32) throw new MbmsError("ERR_ARGUMENT", "n must be an integer in 1..2^32");
  const limit = 2 ** 32 - (2 ** 32 % n);
  const u = new Uint32Array(1);
  for (;;) {
    globalThis.crypto.getRandomValues(u);
    if (u[0]! < limit) return u[0]! % n;
  }
}

/** FNV-1a, 32 bits: spreads users over slots (not a security function). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
