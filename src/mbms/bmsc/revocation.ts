/**
 * Revocation (issue 16 item 4; docs/mbms-flows.md, "Revocation"): a key message carries the TGK in force
 * and every later TGK already generated (tgk-chain.ts), so a user removed, disabled or unsubscribed keeps
 * decrypting until those expire. With "fresh-tgk" the Session Manager ends them now (KeyStore.endTgks) and
 * starts a fresh random TGK under the next TGK-ID; the sender switches to a TEK under it at once, and the
 * remaining UEs fetch it on demand (their MKI evaluators see the unknown TGK-ID: unknown-tgk-gate.ts).
 *
 * The fresh TGK-ID is allocateTgkId's next one, at most 2 past the highest a UE holds (the UE holds the
 * TGK in force and perhaps the next; the deleted future TGKs' IDs are never reused: a UE may hold the old
 * key under them). That is within the UE gate's default `unknownTgkAhead` of 2 — for one revocation. A
 * second before the UEs re-keyed lands 3 past: batch removals (reconcileUsers: one fresh TGK per service).
 *
 * Several instances on one store (schedule-lease.ts): a revocation writes TGKs, which only the owner of
 * the service's schedule may do — two writers could each end the chain and start a fresh TGK. A non-owner
 * refuses: `mayRevoke` renews (or takes) the lease of every service the change revokes *before* the user
 * change is written, and throws ERR_NOT_OWNER naming the owner, nothing changed; the operator makes the
 * change on that instance. Refusing, not forwarding: the instances share only the store, and a change
 * queued there for the owner would leave the caller not knowing when (or whether) the keys stopped
 * working. Should the lease be lost between that check and the fresh TGK (the user change outlasted a
 * third of the TTL), the fresh TGK is refused too (ERR_NOT_OWNER, logged), never written by two.
 */
import type { Clock } from "../../clock.js";
import type { Logger } from "../../logger.js";
import { MbmsError } from "../errors.js";
import type { ScheduleLease } from "./schedule-lease.js";
import type { ServiceSettings } from "./service-config.js";
import type { ServiceQueue } from "./service-queue.js";
import type { AsyncKeyStore } from "./store/index.js";
import type { TekRotation } from "./tek-rotation.js";
import { newTgk, type TgkChain } from "./tgk-chain.js";

/**
 * "fresh-tgk" (the default, since removal should mean no more keys): removing, disabling or unsubscribing
 * a user starts a fresh TGK for each service it loses, at the cost of every remaining receiver re-keying
 * on demand within about a second (unknownTgkSilenceMs, then one request each). "none": the user's TGKs
 * work until they expire (up to the TGK lifetime plus the lead of the next one); for audiences too large
 * for that burst, where the TGK lifetime bounds the exposure.
 */
export type RevocationMode = "fresh-tgk" | "none";

export function revocationMode(v: unknown): RevocationMode {
  if (v === undefined) return "fresh-tgk";
  if (v !== "fresh-tgk" && v !== "none") throw new MbmsError("ERR_ARGUMENT", "revocation is \"fresh-tgk\" or \"none\"");
  return v;
}

/** The services `userId` gets keys for now (enabled, subscribed): what removing or disabling it revokes. */
export async function entitledServices(store: AsyncKeyStore, userId: string): Promise<string[]> {
  const user = await store.getUser(userId);
  if (!user) return [];
  user.kek.fill(0);
  return user.disabled ? [] : store.listSubscriptions(userId);
}

/**
 * Ends the service's TGKs at `now` and stores a fresh random one valid [now, now + TGK_LIFE). Ended first:
 * a crash in between leaves no TGK in force, and the next schedule step makes a fresh one anyway.
 */
async function startFreshTgk(chain: TgkChain, s: ServiceSettings, now: number, reason: string): Promise<number> {
  const ended = await chain.store.endTgks(s.serviceId, now);
  const tgkId = await newTgk(chain, s, now, now + s.tgkLifetimeMs);
  await chain.store.deleteExpiredTgks(now, s.serviceId);
  chain.log("info", "TGK revoked: fresh TGK from now", { serviceId: s.serviceId, tgkId, ended, validFrom: now, reason });
  return tgkId;
}

/**
 * Revokes each service with `revoke` (the manager's: startFreshTgk, then a forced TEK_RAND2 rotation that
 * announces a TEK under the fresh TGK, in the service's queue). Every service is tried, one after the other,
 * failures logged; the first is thrown.
 */
async function revokeServices(
  services: readonly ServiceSettings[], revoke: (s: ServiceSettings) => Promise<void>, log: Logger,
): Promise<void> {
  let failure: unknown;
  for (const s of services) {
    try {
      await revoke(s);
    } catch (e) {
      failure ??= e;
      log("error", "revocation failed", { serviceId: s.serviceId, code: (e as { code?: string }).code ?? "unknown" });
    }
  }
  if (failure !== undefined) throw failure;
}

/** What a revocation needs of the Session Manager. */
export interface RevocationContext {
  readonly mode: RevocationMode;
  /** Several instances: who owns each schedule (undefined: this instance owns all). */
  readonly lease: ScheduleLease | undefined;
  readonly chain: TgkChain;
  readonly queue: ServiceQueue;
  readonly tek: TekRotation;
  readonly services: ReadonlyMap<string, ServiceSettings>;
  readonly clock: Clock;
  readonly log: Logger;
  running(): boolean;
  reschedule(): Promise<void>;
}

/** Before a user change that revokes `serviceIds`: ERR_NOT_OWNER unless this instance owns their schedules. */
export function mayRevoke(c: RevocationContext, serviceIds: readonly string[]): Promise<void> {
  if (c.mode === "none" || !c.lease) return Promise.resolve();
  return c.lease.ownEach(serviceIds.filter((id) => c.services.has(id)), "revoke there; nothing was changed");
}

/** Revocation "fresh-tgk": per service, in its queue, a fresh TGK and, if running, a TEK under it. */
export async function revoke(c: RevocationContext, serviceIds: readonly string[], reason: string): Promise<void> {
  if (c.mode === "none" || serviceIds.length === 0) return;
  const revokeOne = (s: ServiceSettings) => c.queue.run(s.serviceId, async () => {
    if (c.lease && !c.lease.holds(s.serviceId)) throw c.lease.notOwner(s.serviceId, "the user change was made, its fresh TGK was not");
    const now = c.clock.now();
    await startFreshTgk(c.chain, s, now, reason);
    if (c.running()) await c.tek.ensureTek(s, now, false, true);
  });
  try {
    await revokeServices(serviceIds.flatMap((id) => c.services.get(id) ?? []), revokeOne, c.log);
  } finally {
    await c.reschedule();
  }
}
