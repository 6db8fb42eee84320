/**
 * Brings the store's users in line with a configured user list (the CLI's config file, read at every
 * start), so that a persistent store (`--store FILE`) never keeps serving a KEK or a user the config
 * dropped:
 * - a user absent from the store is added, with its subscriptions;
 * - a stored user whose KEK differs gets the configured KEK (the old one is overwritten);
 * - a stored user the config no longer lists is disabled — not removed: its record and history stay, and
 *   it is enabled again (with the configured KEK) if the config lists it again;
 * - a listed user's subscriptions become exactly the configured ones.
 * Everything is checked before anything is written; then one batch adds and one batch updates (each
 * all-or-nothing). The whole is idempotent: a run cut off between the two batches is completed by the next.
 * KEKs are compared in constant time on the project core and never logged.
 */
import type { CryptoCore } from "../../wasm/core.js";
import { MbmsError } from "../errors.js";
import type { AsyncKeyStore } from "./store/index.js";
import { checkDistinctUsers, checkNewUser, type NewUser, type UserUpdate } from "./store/types.js";

export interface ConfiguredUser {
  readonly userId: string;
  /** 16 or 32 bytes; the store keeps a copy. */
  readonly kek: Uint8Array;
  /** Services the user gets keys for. Absent: every service of `allServices`. */
  readonly services?: readonly string[];
}

/** What changed, in counts (for a log line). */
export interface ReconcileResult {
  added: number;
  rekeyed: number;
  disabled: number;
  enabled: number;
  resubscribed: number;
}

export interface ReconcileOptions {
  /** The services a user with no `services` list is subscribed to, and the only ones a list may name. */
  allServices: readonly string[];
  /** createdAt of added users. */
  now: number;
  core: CryptoCore;
  /**
   * Filled with the services some enabled user stops getting keys for (disabled, or unsubscribed), so the
   * caller can revoke them (revocation.ts). Computed before the store is written.
   */
  revoked?: Set<string>;
  /** Called once every change (and `revoked`) is known, before anything is written; a rejection writes nothing. */
  beforeWrite?: () => Promise<void>;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length;

export async function reconcileUsers(store: AsyncKeyStore, users: readonly ConfiguredUser[], o: ReconcileOptions): Promise<ReconcileResult> {
  if (!Array.isArray(users)) throw new MbmsError("ERR_ARGUMENT", "users must be an array");
  const known = new Set(o.allServices);
  for (const u of users) {
    checkNewUser(u);
    for (const id of u.services ?? []) {
      if (!known.has(id)) throw new MbmsError("ERR_NOT_FOUND", `user "${u.userId}" is subscribed to service "${id}", which is not managed`);
    }
  }
  checkDistinctUsers(users);
  const adds: NewUser[] = [];
  const updates: UserUpdate[] = [];
  const listed = new Set<string>();
  for (const u of users) {
    listed.add(u.userId);
    const services = [...new Set<string>(u.services ?? o.allServices)];
    const rec = await store.getUser(u.userId);
    if (!rec) {
      adds.push({ userId: u.userId, kek: u.kek, createdAt: o.now, services });
      continue;
    }
    const update: { -readonly [K in keyof UserUpdate]: UserUpdate[K] } = { userId: u.userId };
    try {
      if (!o.core.ctEqual(rec.kek, u.kek)) update.kek = u.kek;
    } finally {
      rec.kek.fill(0);
    }
    if (rec.disabled) update.disabled = false;
    const held = await store.listSubscriptions(u.userId);
    if (!sameSet(held, services)) {
      update.services = services;
      if (!rec.disabled) for (const id of held) if (!services.includes(id)) o.revoked?.add(id);
    }
    if (Object.keys(update).length > 1) updates.push(update);
  }
  for (const userId of await store.listUserIds()) {
    if (listed.has(userId)) continue;
    const rec = await store.getUser(userId);
    rec?.kek.fill(0);
    if (rec && !rec.disabled) {
      updates.push({ userId, disabled: true });
      for (const id of o.revoked ? await store.listSubscriptions(userId) : []) o.revoked?.add(id);
    }
  }
  await o.beforeWrite?.();
  if (adds.length > 0) await store.addUsers(adds);
  if (updates.length > 0) await store.updateUsers(updates);
  const result: ReconcileResult = { added: adds.length, rekeyed: 0, disabled: 0, enabled: 0, resubscribed: 0 };
  for (const u of updates) {
    if (u.kek) result.rekeyed++;
    if (u.disabled === true) result.disabled++;
    if (u.disabled === false) result.enabled++;
    if (u.services) result.resubscribed++;
  }
  return result;
}
