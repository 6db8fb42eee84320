/**
 * A service's chain of TGKs in the store: TGK n is valid [validFrom, validFrom + TGK_LIFE); TGK n+1 is
 * generated `nextTgkLeadMs` before TGK n expires and becomes valid when it expires, so every key message
 * from then on carries both (implosion mitigation: several TGKs in one message, docs/mbms-flows.md).
 */
import type { Logger } from "../../logger.js";
import type { ServiceSettings } from "./service-config.js";
import type { KeyStore, TgkRecord } from "./store/index.js";

export interface TgkChain {
  store: KeyStore;
  /** The highest TGK-ID the MKI layout holds. */
  maxTgkId: number;
  log: Logger;
}

/** The service's TGKs not yet expired at `now`, soonest expiry first (copies: the caller zeroes them). */
export function liveTgks(store: KeyStore, serviceId: string, now: number): TgkRecord[] {
  return store.listTgks(serviceId).filter((t) => t.expiresAt > now);
}

/** Zeroes the key bytes of TGK records read from the store once they are no longer needed. */
export function wipeTgks(tgks: TgkRecord[]): TgkRecord[] {
  for (const t of tgks) t.tgk.fill(0);
  return tgks;
}

/** Makes sure a TGK is in force and, `nextTgkLeadMs` before it expires, the next one exists; returns the live ones. */
export function ensureTgks(chain: TgkChain, s: ServiceSettings, now: number): TgkRecord[] {
  let tgks = liveTgks(chain.store, s.serviceId, now);
  if (!tgks.some((t) => t.validFrom <= now)) {
    // Nothing in force (new service, or the BM-SC was down past the last expiry): a TGK from now.
    const start = tgks.length > 0 ? Math.min(now, tgks[0]!.validFrom) : now;
    const end = tgks.length > 0 ? tgks[0]!.validFrom : now + s.tgkLifetimeMs;
    if (end > start) newTgk(chain, s, start, end);
    tgks = wipeAndReread(chain, s, tgks, now);
  }
  for (let last = tgks[tgks.length - 1]!; last.expiresAt - now <= s.nextTgkLeadMs; last = tgks[tgks.length - 1]!) {
    newTgk(chain, s, last.expiresAt, last.expiresAt + s.tgkLifetimeMs);
    tgks = wipeAndReread(chain, s, tgks, now);
  }
  chain.store.deleteExpiredTgks(now, s.serviceId);
  return tgks;
}

function wipeAndReread(chain: TgkChain, s: ServiceSettings, old: TgkRecord[], now: number): TgkRecord[] {
  wipeTgks(old);
  return liveTgks(chain.store, s.serviceId, now);
}

/** Stores a fresh random TGK under the next TGK-ID, valid [validFrom, expiresAt); returns the TGK-ID. */
export function newTgk(chain: TgkChain, s: ServiceSettings, validFrom: number, expiresAt: number): number {
  const tgkId = chain.store.allocateTgkId(s.serviceId, chain.maxTgkId);
  const tgk = globalThis.crypto.getRandomValues(new Uint8Array(s.tgkLength));
  try {
    chain.store.addTgk({ serviceId: s.serviceId, tgkId, tgk, validFrom, expiresAt });
  } finally {
    tgk.fill(0);
  }
  chain.log("info", "TGK generated", { serviceId: s.serviceId, tgkId, validFrom, expiresAt });
  return tgkId;
}
