/**
 * A service's chain of TGKs in the store: TGK n is valid [validFrom, validFrom + TGK_LIFE); TGK n+1 is
 * generated `nextTgkLeadMs` before TGK n expires and becomes valid when it expires, so every key message
 * from then on carries both (implosion mitigation: several TGKs in one message, docs/mbms-flows.md).
 * The functions that write (ensureTgks, newTgk) run in the service's queue (service-queue.ts).
 */
import type { Logger } from "../../logger.js";
import type { ServiceSettings } from "./service-config.js";
import type { AsyncKeyStore, TgkRecord } from "./store/index.js";

export interface TgkChain {
  store: AsyncKeyStore;
  /** The highest TGK-ID the MKI layout holds. */
  maxTgkId: number;
  log: Logger;
}

/** The service's TGKs not yet expired at `now`, soonest expiry first (copies: the caller zeroes them). */
export async function liveTgks(store: AsyncKeyStore, serviceId: string, now: number): Promise<TgkRecord[]> {
  return (await store.listTgks(serviceId)).filter((t) => t.expiresAt > now);
}

/** Zeroes the key bytes of TGK records read from the store once they are no longer needed. */
export function wipeTgks(tgks: TgkRecord[]): TgkRecord[] {
  for (const t of tgks) t.tgk.fill(0);
  return tgks;
}

/** Whether the next TGK is due: the last of `tgks` (live, soonest expiry first) expires within the lead. */
const nextDue = (tgks: readonly TgkRecord[], s: ServiceSettings, now: number): boolean => tgks[tgks.length - 1]!.expiresAt - now <= s.nextTgkLeadMs;

/** Whether `tgks` (live, soonest expiry first) hold a TGK in force and, when it is due, the next one: nothing for ensureTgks to do. */
export function chainComplete(tgks: readonly TgkRecord[], s: ServiceSettings, now: number): boolean {
  return tgks.some((t) => t.validFrom <= now) && !nextDue(tgks, s, now);
}

/** Makes sure a TGK is in force and, `nextTgkLeadMs` before it expires, the next one exists; returns the live ones. */
export async function ensureTgks(chain: TgkChain, s: ServiceSettings, now: number): Promise<TgkRecord[]> {
  let tgks = await liveTgks(chain.store, s.serviceId, now);
  if (!tgks.some((t) => t.validFrom <= now)) {
    // Nothing in force (new service, or the BM-SC was down past the last expiry): a TGK from now.
    const start = tgks.length > 0 ? Math.min(now, tgks[0]!.validFrom) : now;
    const end = tgks.length > 0 ? tgks[0]!.validFrom : now + s.tgkLifetimeMs;
    if (end > start) await newTgk(chain, s, start, end);
    tgks = await wipeAndReread(chain, s, tgks, now);
  }
  while (nextDue(tgks, s, now)) {
    const last = tgks[tgks.length - 1]!;
    await newTgk(chain, s, last.expiresAt, last.expiresAt + s.tgkLifetimeMs);
    tgks = await wipeAndReread(chain, s, tgks, now);
  }
  try {
    await chain.store.deleteExpiredTgks(now, s.serviceId);
  } catch (e) {
    wipeTgks(tgks);
    throw e;
  }
  return tgks;
}

function wipeAndReread(chain: TgkChain, s: ServiceSettings, old: TgkRecord[], now: number): Promise<TgkRecord[]> {
  wipeTgks(old);
  return liveTgks(chain.store, s.serviceId, now);
}

/** Stores a fresh random TGK under the next TGK-ID, valid [validFrom, expiresAt); returns the TGK-ID. */
export async function newTgk(chain: TgkChain, s: ServiceSettings, validFrom: number, expiresAt: number): Promise<number> {
  const tgkId = await chain.store.allocateTgkId(s.serviceId, chain.maxTgkId);
  const tgk = globalThis.crypto.getRandomValues(new Uint8Array(s.tgkLength));
  try {
    await chain.store.addTgk({ serviceId: s.serviceId, tgkId, tgk, validFrom, expiresAt });
  } finally {
    tgk.fill(0);
  }
  chain.log("info", "TGK generated", { serviceId: s.serviceId, tgkId, validFrom, expiresAt });
  return tgkId;
}
