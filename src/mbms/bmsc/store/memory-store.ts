// KeyStore in process memory: for tests and for a BM-SC that may forget everything on restart. Same
// semantics as SqliteKeyStore (one test suite runs against both). Pure JS, no Node APIs.
import { MbmsError } from "../../errors.js";
import { ExpiryHeap } from "./expiry-heap.js";
import { checkLease, leaseAfter, type Lease } from "./lease.js";
import { MAX_LISTED_STREAMS, checkStreamList, checkStreamRecord } from "./stream-records.js";
import type { SrtpStreamPosition } from "../../stream-positions.js";
import {
  MAX_TGK_ID, checkDistinctUsers, checkId, checkListOptions, checkMaxTgkId, checkNewService, checkNewUser, checkNonce,
  checkNonceCap, checkTekRand2, checkTgkId, checkTgkRecord, checkTime, checkUserUpdate, compareIds, copyBytes, pickTgkId,
  type KeyStore, type ListOptions, type NewService, type NewUser, type NonceResult, type RotateResult, type ServiceRecord,
  type TekRand2State, type TgkRecord, type UserRecord, type UserUpdate, RECORDED, REPLAYED,
} from "./types.js";

interface UserRow { kek: Uint8Array; createdAt: number; disabled: boolean; services: Set<string> }
interface ServiceRow {
  csbId: number; csId: number; srtpProfile: string; tekRand: Uint8Array; nextTgkId: number; tekScheme: string | undefined;
  tgks: Map<number, { tgk: Uint8Array; validFrom: number; expiresAt: number }>;
  streams: Map<number, { roc: number; expiresAt: number }>;
  rand2?: { current: Uint8Array; currentStart: number; previous: Uint8Array | null; previousStart: number | null };
}

const hex = (b: Uint8Array): string => {
  let s = "";
  for (const x of b) s += (x < 16 ? "0" : "") + x.toString(16);
  return s;
};

export class MemoryKeyStore implements KeyStore {
  #users = new Map<string, UserRow>();
  #services = new Map<string, ServiceRow>();
  /** userId → (hex nonce → expiresAt). */
  #nonces = new Map<string, Map<string, number>>();
  /** Every stored nonce by expiry, to forget expired ones as new ones arrive. */
  #expiry = new ExpiryHeap<{ userId: string; key: string }>();
  #closed = false;
  #leases = new Map<string, { owner: string; expiresAt: number }>();

  #open(): void {
    if (this.#closed) throw new MbmsError("ERR_STORE", "the key store is closed");
  }

  #service(serviceId: string): ServiceRow {
    checkId("service", serviceId);
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `no service "${serviceId}"`);
    return s;
  }

  addUser(user: NewUser): void {
    this.addUsers([user]);
  }

  addUsers(users: readonly NewUser[]): void {
    this.#open();
    if (!Array.isArray(users)) throw new MbmsError("ERR_ARGUMENT", "users must be an array");
    for (const u of users) {
      checkNewUser(u);
      if (this.#users.has(u.userId)) throw new MbmsError("ERR_DUPLICATE", `user "${u.userId}" exists`);
      this.#checkServices(u.services);
    }
    checkDistinctUsers(users);
    const now = Date.now();
    for (const u of users) {
      this.#users.set(u.userId, {
        kek: copyBytes(u.kek), createdAt: u.createdAt ?? now, disabled: u.disabled ?? false, services: new Set(u.services),
      });
    }
  }

  #checkServices(ids: readonly string[] | undefined): void {
    for (const id of ids ?? []) if (!this.#services.has(id)) throw new MbmsError("ERR_NOT_FOUND", `no service "${id}"`);
  }

  getUser(userId: string): UserRecord | undefined {
    this.#open();
    checkId("user", userId);
    const u = this.#users.get(userId);
    return u && { userId, kek: copyBytes(u.kek), createdAt: u.createdAt, disabled: u.disabled };
  }

  listUserIds(options?: ListOptions): string[] {
    this.#open();
    checkListOptions(options);
    let ids = [...this.#users.keys()];
    const after = options?.after;
    if (after !== undefined) ids = ids.filter((id) => compareIds(id, after) > 0);
    ids.sort(compareIds);
    return options?.limit !== undefined ? ids.slice(0, options.limit) : ids;
  }

  setUserDisabled(userId: string, disabled: boolean): void {
    this.updateUsers([{ userId, disabled }]);
  }

  updateUsers(updates: readonly UserUpdate[]): void {
    this.#open();
    if (!Array.isArray(updates)) throw new MbmsError("ERR_ARGUMENT", "updates must be an array");
    for (const u of updates) {
      checkUserUpdate(u);
      if (!this.#users.has(u.userId)) throw new MbmsError("ERR_NOT_FOUND", `no user "${u.userId}"`);
      this.#checkServices(u.services);
    }
    checkDistinctUsers(updates);
    for (const u of updates) {
      const row = this.#users.get(u.userId)!;
      if (u.kek !== undefined) {
        row.kek.fill(0);
        row.kek = copyBytes(u.kek);
      }
      if (u.disabled !== undefined) row.disabled = u.disabled;
      if (u.services !== undefined) row.services = new Set(u.services);
    }
  }

  listSubscriptions(userId: string): string[] {
    this.#open();
    checkId("user", userId);
    return [...(this.#users.get(userId)?.services ?? [])].sort(compareIds);
  }

  isSubscribed(userId: string, serviceId: string): boolean {
    this.#open();
    checkId("user", userId);
    checkId("service", serviceId);
    return this.#users.get(userId)?.services.has(serviceId) ?? false;
  }

  removeUser(userId: string): boolean {
    this.#open();
    checkId("user", userId);
    const u = this.#users.get(userId);
    if (!u) return false;
    u.kek.fill(0);
    this.#users.delete(userId);
    return true;
  }

  addService(service: NewService): void {
    this.#open();
    checkNewService(service);
    if (this.#services.has(service.serviceId)) {
      throw new MbmsError("ERR_DUPLICATE", `service "${service.serviceId}" exists`);
    }
    this.#services.set(service.serviceId, {
      csbId: service.csbId, csId: service.csId, srtpProfile: service.srtpProfile,
      tekRand: copyBytes(service.tekRand), nextTgkId: service.nextTgkId ?? 1, tekScheme: service.tekScheme, tgks: new Map(), streams: new Map(),
    });
  }

  getService(serviceId: string): ServiceRecord | undefined {
    this.#open();
    checkId("service", serviceId);
    const s = this.#services.get(serviceId);
    return s && {
      serviceId, csbId: s.csbId, csId: s.csId, srtpProfile: s.srtpProfile, tekRand: copyBytes(s.tekRand), nextTgkId: s.nextTgkId,
      ...(s.tekScheme !== undefined ? { tekScheme: s.tekScheme } : {}),
    };
  }

  listServiceIds(): string[] {
    this.#open();
    return [...this.#services.keys()].sort(compareIds);
  }

  removeService(serviceId: string): boolean {
    this.#open();
    checkId("service", serviceId);
    const s = this.#services.get(serviceId);
    if (!s) return false;
    zeroService(s);
    this.#services.delete(serviceId);
    for (const u of this.#users.values()) u.services.delete(serviceId);
    return true;
  }

  allocateTgkId(serviceId: string, maxTgkId: number = MAX_TGK_ID): number {
    this.#open();
    checkMaxTgkId(maxTgkId);
    const s = this.#service(serviceId);
    const [id, next] = pickTgkId(s.nextTgkId, maxTgkId, s.tgks.size, (x) => s.tgks.has(x));
    s.nextTgkId = next;
    return id;
  }

  addTgk(tgk: TgkRecord): void {
    this.#open();
    checkTgkRecord(tgk);
    const s = this.#service(tgk.serviceId);
    if (s.tgks.has(tgk.tgkId)) {
      throw new MbmsError("ERR_DUPLICATE", `service "${tgk.serviceId}" already has TGK-ID ${tgk.tgkId}`);
    }
    s.tgks.set(tgk.tgkId, { tgk: copyBytes(tgk.tgk), validFrom: tgk.validFrom, expiresAt: tgk.expiresAt });
  }

  getTgk(serviceId: string, tgkId: number): TgkRecord | undefined {
    this.#open();
    checkId("service", serviceId);
    checkTgkId(tgkId);
    const t = this.#services.get(serviceId)?.tgks.get(tgkId);
    return t && { serviceId, tgkId, tgk: copyBytes(t.tgk), validFrom: t.validFrom, expiresAt: t.expiresAt };
  }

  listTgks(serviceId: string): TgkRecord[] {
    this.#open();
    checkId("service", serviceId);
    const s = this.#services.get(serviceId);
    if (!s) return [];
    return [...s.tgks]
      .map(([tgkId, t]) => ({ serviceId, tgkId, tgk: copyBytes(t.tgk), validFrom: t.validFrom, expiresAt: t.expiresAt }))
      .sort((a, b) => a.expiresAt - b.expiresAt || a.tgkId - b.tgkId);
  }

  deleteExpiredTgks(now: number, serviceId?: string): number {
    this.#open();
    checkTime("now", now);
    if (serviceId !== undefined) checkId("service", serviceId);
    let n = 0;
    for (const [id, s] of this.#services) {
      if (serviceId !== undefined && id !== serviceId) continue;
      for (const [tgkId, t] of s.tgks) {
        if (t.expiresAt <= now) {
          t.tgk.fill(0);
          s.tgks.delete(tgkId);
          n++;
        }
      }
    }
    return n;
  }

  endTgks(serviceId: string, at: number): number {
    this.#open();
    checkTime("at", at);
    const s = this.#service(serviceId);
    let n = 0;
    for (const [tgkId, t] of s.tgks) {
      if (t.validFrom >= at) {
        t.tgk.fill(0);
        s.tgks.delete(tgkId);
      } else if (t.expiresAt > at) t.expiresAt = at;
      else continue;
      n++;
    }
    return n;
  }

  getTekRand2(serviceId: string): TekRand2State | undefined {
    this.#open();
    checkId("service", serviceId);
    const r = this.#services.get(serviceId)?.rand2;
    return r && rand2State(serviceId, r);
  }

  rotateTekRand2(serviceId: string, rand2: Uint8Array, startsAt: number): RotateResult {
    this.#open();
    checkTekRand2(rand2);
    checkTime("startsAt", startsAt);
    const s = this.#service(serviceId);
    const r = s.rand2;
    if (r && r.currentStart >= startsAt) return { applied: false, state: rand2State(serviceId, r) };
    r?.previous?.fill(0);
    s.rand2 = {
      current: copyBytes(rand2), currentStart: startsAt, previous: r ? r.current : null, previousStart: r ? r.currentStart : null,
    };
    return { applied: true, state: rand2State(serviceId, s.rand2) };
  }

  rememberNonce(userId: string, nonce: Uint8Array, expiresAt: number, now: number = Date.now(), maxPerUser?: number): NonceResult {
    this.#open();
    checkId("user", userId);
    checkNonce(nonce);
    checkTime("expiresAt", expiresAt);
    checkTime("now", now);
    checkNonceCap(maxPerUser);
    this.#forget(now);
    // Every nonce still stored expires after `now`.
    let m = this.#nonces.get(userId);
    const key = hex(nonce);
    if (m?.has(key)) return REPLAYED;
    if (m && maxPerUser !== undefined && m.size >= maxPerUser) {
      let retryAt = Infinity;
      for (const at of m.values()) retryAt = Math.min(retryAt, at);
      return { recorded: false, reason: "full", retryAt };
    }
    if (!m) this.#nonces.set(userId, (m = new Map()));
    m.set(key, expiresAt);
    this.#expiry.push(expiresAt, { userId, key });
    return RECORDED;
  }

  purgeNonces(now: number): number {
    this.#open();
    checkTime("now", now);
    return this.#forget(now);
  }

  countNonces(userId?: string): number {
    this.#open();
    if (userId !== undefined) {
      checkId("user", userId);
      return this.#nonces.get(userId)?.size ?? 0;
    }
    let n = 0;
    for (const m of this.#nonces.values()) n += m.size;
    return n;
  }

  /** Forgets the nonces with expiresAt <= now; returns how many. */
  #forget(now: number): number {
    let n = 0;
    this.#expiry.popDue(now, ({ userId, key }, at) => {
      const m = this.#nonces.get(userId);
      // Entries match the map one to one (a nonce is stored again only after its entry was popped); checked
      // anyway, since deleting a live nonce would let a replay through.
      if (m?.get(key) !== at) return;
      m.delete(key);
      if (m.size === 0) this.#nonces.delete(userId);
      n++;
    });
    return n;
  }

  acquireLease(name: string, owner: string, ttlMs: number, now: number): Lease {
    checkLease(name, owner, ttlMs, now);
    this.#open();
    const lease = leaseAfter(this.#leases.get(name), name, owner, ttlMs, now);
    if (lease.acquired) this.#leases.set(name, { owner, expiresAt: lease.expiresAt });
    return lease;
  }

  releaseLease(name: string, owner: string): boolean {
    checkLease(name, owner);
    this.#open();
    if (this.#leases.get(name)?.owner !== owner) return false;
    return this.#leases.delete(name);
  }

  countLeases(): number {
    this.#open();
    return this.#leases.size;
  }

  putStreamPosition(serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number): void {
    checkStreamRecord(serviceId, ssrc, roc, ttlMs, now);
    this.#open();
    const { streams } = this.#service(serviceId);
    for (const [k, r] of streams) if (r.expiresAt <= now) streams.delete(k);
    streams.set(ssrc, { roc, expiresAt: now + ttlMs });
  }

  listStreamPositions(serviceId: string, now: number): SrtpStreamPosition[] {
    checkStreamList(serviceId, now);
    this.#open();
    const live = [...(this.#services.get(serviceId)?.streams ?? [])].filter(([, r]) => r.expiresAt > now);
    return live.sort(([a], [b]) => a - b).slice(0, MAX_LISTED_STREAMS).map(([ssrc, r]) => ({ ssrc, roc: r.roc }));
  }

  deleteStreamPosition(serviceId: string, ssrc: number): boolean {
    checkStreamRecord(serviceId, ssrc);
    this.#open();
    return this.#services.get(serviceId)?.streams.delete(ssrc) ?? false;
  }

  close(): void {
    if (this.#closed) return;
    this.#leases.clear();
    for (const u of this.#users.values()) u.kek.fill(0);
    for (const s of this.#services.values()) zeroService(s);
    this.#users.clear();
    this.#services.clear();
    this.#nonces.clear();
    this.#expiry.clear();
    this.#closed = true;
  }
}

function rand2State(serviceId: string, r: NonNullable<ServiceRow["rand2"]>): TekRand2State {
  return {
    serviceId, current: copyBytes(r.current), currentStart: r.currentStart,
    previous: r.previous && copyBytes(r.previous), previousStart: r.previousStart,
  };
}

function zeroService(s: ServiceRow): void {
  s.tekRand.fill(0);
  for (const t of s.tgks.values()) t.tgk.fill(0);
  s.rand2?.current.fill(0);
  s.rand2?.previous?.fill(0);
}
