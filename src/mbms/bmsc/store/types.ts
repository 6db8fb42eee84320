// The BM-SC's persistent state (docs/architecture.md §1): the users, their KEKs and the services they are subscribed to,
// the MBMS services with their TGKs, TEK_RAND and TEK_RAND2 schedule, and the replay cache of key-request nonces. A restart must change no key
// and lose no user or TGK, so everything the session manager would otherwise hold in memory lives here.
//
// The contract every backend keeps (MemoryKeyStore, SqliteKeyStore, and a shared server database later):
// - Every method is one atomic operation: it happens entirely or not at all, and its result reflects one
//   consistent state. No method hands out a transaction, a cursor or a live object, so a backend on the far
//   side of a network (several BM-SC instances sharing one database) implements the same calls one to one.
//   Operations that several instances may race on are written so that the race is harmless:
//   `allocateTgkId` is a fetch-and-increment, `rotateTekRand2` a compare-and-set on the period start,
//   `rememberNonce` an insert-if-absent.
// - Calls are synchronous and return plain values. A network backend would need the same shape with
//   promises; the method set and semantics are what must not change.
// - Bytes go in and out as Uint8Array copies: the caller may zero or reuse its buffer after the call, and
//   zeroing a returned array never alters the stored key. Returned arrays are never Node Buffers.
// - Failures are MbmsError with a stable code (ERR_DUPLICATE, ERR_NOT_FOUND, ERR_STORE, ERR_KEY_LENGTH,
//   ERR_TGK_ID, ERR_ARGUMENT). Messages carry identifiers and lengths, never key bytes, TEK_RAND(2) or nonces.
// - Times are integer milliseconds since the epoch (Date.now()).
import { MbmsError } from "../../errors.js";
import type { Lease } from "./lease.js";
import type { SrtpStreamPosition } from "../../stream-positions.js";

/** A user of the BM-SC and the KEK pre-provisioned for it (GBA-derived or written to the card). */
export interface UserRecord {
  readonly userId: string;
  /** Key encryption key: 16 or 32 bytes. */
  readonly kek: Uint8Array;
  /** When the user was added (ms). */
  readonly createdAt: number;
  /** A disabled user keeps its KEK but gets no keys. */
  readonly disabled: boolean;
}

export interface NewUser {
  readonly userId: string;
  readonly kek: Uint8Array;
  /** Default: Date.now(). */
  readonly createdAt?: number;
  /** Default: false. */
  readonly disabled?: boolean;
  /** The services the user is subscribed to (gets TGKs for); each must exist. Default: none. */
  readonly services?: readonly string[];
}

/** A change to a stored user; absent fields keep their value. */
export interface UserUpdate {
  readonly userId: string;
  /** A new KEK: 16 or 32 bytes (the old one is overwritten where the backend can). */
  readonly kek?: Uint8Array;
  readonly disabled?: boolean;
  /** The user's subscriptions, replacing the stored set; each service must exist. */
  readonly services?: readonly string[];
}

/** What rememberNonce did. */
export type NonceResult =
  | { readonly recorded: true }
  /** The same (user, nonce) is stored and has not expired: a replay. */
  | { readonly recorded: false; readonly reason: "replayed" }
  /** The user already holds `maxPerUser` unexpired nonces; the soonest of them expires at `retryAt`. */
  | { readonly recorded: false; readonly reason: "full"; readonly retryAt: number };

export const RECORDED: NonceResult = { recorded: true };
export const REPLAYED: NonceResult = { recorded: false, reason: "replayed" };

/** An MBMS user service and the MIKEY crypto-session parameters its TEKs derive from. */
export interface ServiceRecord {
  readonly serviceId: string;
  /** CSB ID of the MIKEY messages for this service (32 bits). */
  readonly csbId: number;
  /** cs_id of the SRTP crypto session (8 bits). */
  readonly csId: number;
  /** SRTP protection profile name, e.g. "AES_CM_128_HMAC_SHA1_80" (the store does not interpret it). */
  readonly srtpProfile: string;
  /** TEK_RAND, sent once in the initial keying: 16..255 bytes. */
  readonly tekRand: Uint8Array;
  /** The TGK-ID `allocateTgkId` hands out next: 1..2^32-1. */
  readonly nextTgkId: number;
  /**
   * How its TEKs derive and its MKIs are laid out, e.g. "alt1 4+8" (the store does not interpret it):
   * a BM-SC that resumes the service must derive the same TEKs. Absent for a service stored without it.
   */
  readonly tekScheme?: string;
}

export interface NewService {
  readonly serviceId: string;
  readonly csbId: number;
  readonly csId: number;
  readonly srtpProfile: string;
  readonly tekRand: Uint8Array;
  /** Default: 1. */
  readonly nextTgkId?: number;
  readonly tekScheme?: string;
}

/** A TEK generation key of a service. */
export interface TgkRecord {
  readonly serviceId: string;
  /** 1..2^32-1, unique within the service. */
  readonly tgkId: number;
  /** 16 or 32 bytes. */
  readonly tgk: Uint8Array;
  /** Start of TGK_LIFE (ms). */
  readonly validFrom: number;
  /** End of TGK_LIFE (ms), after validFrom. A TGK with expiresAt <= now is expired. */
  readonly expiresAt: number;
}

/**
 * Where a service's TEK_RAND2 schedule stands. Keeping the previous value lets a restarted BM-SC go on
 * with the same MKI (MKI = TGK-ID ‖ TEK_RAND2) and still answer for packets of the period just ended.
 */
export interface TekRand2State {
  readonly serviceId: string;
  /** The TEK_RAND2 in force: 8..16 bytes. */
  readonly current: Uint8Array;
  /** When it came into force (ms). */
  readonly currentStart: number;
  /** The one before it, or null after the first rotation. */
  readonly previous: Uint8Array | null;
  readonly previousStart: number | null;
}

export interface RotateResult {
  /** false when the stored period already starts at or after `startsAt` (another instance rotated first). */
  readonly applied: boolean;
  /** The state after the call: the caller's value when applied, the winner's otherwise. */
  readonly state: TekRand2State;
}

export interface ListOptions {
  /** Only ids that sort after this one (keyset pagination). */
  readonly after?: string;
  /** At most this many ids. */
  readonly limit?: number;
}

/** The BM-SC's storage interface. Every call is atomic (see the contract at the top of this file). */
export interface KeyStore {
  // ---- users ----
  /** Adds a user. ERR_DUPLICATE if the id exists; ERR_KEY_LENGTH unless the KEK is 16 or 32 bytes. */
  addUser(user: NewUser): void;
  /** Adds many users at once: all of them or, on any error, none. */
  addUsers(users: readonly NewUser[]): void;
  getUser(userId: string): UserRecord | undefined;
  /** User ids in ascending order (UTF-8 byte order, as SQL's BINARY collation). */
  listUserIds(options?: ListOptions): string[];
  /** ERR_NOT_FOUND if the user does not exist. */
  setUserDisabled(userId: string, disabled: boolean): void;
  /**
   * Applies many user updates at once: all of them or, on any error, none. ERR_NOT_FOUND for an unknown
   * user or service, ERR_DUPLICATE if a user appears twice, ERR_KEY_LENGTH for a bad KEK.
   */
  updateUsers(updates: readonly UserUpdate[]): void;
  /** true if the user existed. Its KEK is overwritten where the backend can (memory, SQLite secure_delete). */
  removeUser(userId: string): boolean;

  // ---- subscriptions (entitlement: which users get the TGKs of which service) ----
  /** The services the user is subscribed to, in ascending order; [] for an unknown user. */
  listSubscriptions(userId: string): string[];
  isSubscribed(userId: string, serviceId: string): boolean;

  // ---- services ----
  /** ERR_DUPLICATE if the service id exists. */
  addService(service: NewService): void;
  getService(serviceId: string): ServiceRecord | undefined;
  listServiceIds(): string[];
  /** Removes the service with its TGKs, TEK_RAND2 state and subscriptions; true if it existed. */
  removeService(serviceId: string): boolean;
  /**
   * Hands out the service's next TGK-ID and advances the counter (fetch-and-increment). IDs still held by
   * a stored TGK of the service are skipped; after `maxTgkId` (default 2^32-1; 255 for a 1-byte MKI
   * TGK-ID) the counter wraps to 1. ERR_NOT_FOUND for an unknown service, ERR_TGK_ID if every ID is taken.
   */
  allocateTgkId(serviceId: string, maxTgkId?: number): number;

  // ---- TGKs ----
  /** ERR_NOT_FOUND for an unknown service, ERR_DUPLICATE if the service already has this TGK-ID. */
  addTgk(tgk: TgkRecord): void;
  getTgk(serviceId: string, tgkId: number): TgkRecord | undefined;
  /** The service's TGKs, soonest expiry first (ties: lower TGK-ID first). */
  listTgks(serviceId: string): TgkRecord[];
  /** Deletes the TGKs with expiresAt <= now (of one service, or of all); returns how many. */
  deleteExpiredTgks(now: number, serviceId?: string): number;
  /**
   * Ends the service's TGKs early, at `at` (revocation: a removed user's pre-delivered TGKs must stop
   * working): each TGK still valid at `at` gets expiresAt = at; each not yet valid then (validFrom >= at)
   * is deleted, since it would never be in force. Returns how many changed. ERR_NOT_FOUND for an unknown service.
   */
  endTgks(serviceId: string, at: number): number;

  // ---- TEK_RAND2 schedule ----
  getTekRand2(serviceId: string): TekRand2State | undefined;
  /**
   * Makes `rand2` the current TEK_RAND2 from `startsAt` on, the current one becoming the previous —
   * unless the stored current one starts at or after `startsAt` (compare-and-set: of several instances
   * rotating for the same period, one wins and the others read its value back). ERR_NOT_FOUND for an
   * unknown service.
   */
  rotateTekRand2(serviceId: string, rand2: Uint8Array, startsAt: number): RotateResult;

  // ---- replay protection of key requests ----
  /**
   * Records that `userId` sent `nonce`, to be remembered until `expiresAt` — unless the same (userId, nonce)
   * is stored and has not expired at `now` (default Date.now()): a replay; or the user already holds
   * `maxPerUser` (default: no limit) unexpired nonces. Every call first forgets the nonces (of all users)
   * with expiresAt <= now, at a cost proportional to how many expired (amortised: each nonce once).
   */
  rememberNonce(userId: string, nonce: Uint8Array, expiresAt: number, now?: number, maxPerUser?: number): NonceResult;
  /** Forgets the nonces with expiresAt <= now; returns how many. */
  purgeNonces(now: number): number;
  /** How many nonces are stored (of one user, or of all), expired ones not yet forgotten included. */
  countNonces(userId?: string): number;

  // ---- leases (lease.ts): one holder at a time among instances ----
  /**
   * Takes the lease `name` for `owner` until now + ttlMs if it is free, expired (expiresAt <= now) or already
   * the owner's (a renewal); otherwise returns the holder with acquired: false. Atomic.
   */
  acquireLease(name: string, owner: string, ttlMs: number, now: number): Lease;
  /** Gives the lease up if `owner` holds it (expired or not); true if it did. */
  releaseLease(name: string, owner: string): boolean;
  /** How many lease rows are stored (expired ones not yet taken over or released included). */
  countLeases(): number;

  // ---- stream positions (stream-records.ts): each sender's SSRC and ROC, for every instance's key messages ----
  /**
   * Records that the stream `ssrc` of `serviceId` is at ROC `roc` until now + ttlMs (replacing its record);
   * first forgets the service's records expired at `now`. ERR_NOT_FOUND for an unknown service.
   */
  putStreamPosition(serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number): void;
  /** The records of `serviceId` unexpired at `now`, lowest SSRC first, at most MAX_LISTED_STREAMS. */
  listStreamPositions(serviceId: string, now: number): SrtpStreamPosition[];
  /** Forgets the record of `ssrc` in `serviceId`; true if there was one. */
  deleteStreamPosition(serviceId: string, ssrc: number): boolean;

  /** Releases the backend; memory backends zero their keys. Further calls throw ERR_STORE. */
  close(): void;
}

// ---- checks shared by every backend, so that all of them refuse the same inputs with the same codes ----

export const MAX_TGK_ID = 0xffffffff;
const MAX_ID_CHARS = 256;

export function checkId(kind: string, id: unknown): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_CHARS) {
    throw new MbmsError("ERR_ARGUMENT", `${kind} id must be a string of 1..${MAX_ID_CHARS} characters`);
  }
}

export function checkTime(what: string, t: unknown): asserts t is number {
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) {
    throw new MbmsError("ERR_ARGUMENT", `${what} must be a non-negative integer of milliseconds`);
  }
}

function checkBytes(what: string, b: unknown): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new MbmsError("ERR_ARGUMENT", `${what} must be a Uint8Array`);
}

export function checkKey(what: string, k: unknown): asserts k is Uint8Array {
  checkBytes(what, k);
  if (k.length !== 16 && k.length !== 32) {
    throw new MbmsError("ERR_KEY_LENGTH", `${what} must be 16 or 32 bytes, got ${k.length}`);
  }
}

export function checkRandom(what: string, r: unknown, min: number, max: number): asserts r is Uint8Array {
  checkBytes(what, r);
  if (r.length < min || r.length > max) {
    throw new MbmsError("ERR_ARGUMENT", `${what} must be ${min}..${max} bytes, got ${r.length}`);
  }
}

export function checkTgkId(tgkId: unknown, max = MAX_TGK_ID): asserts tgkId is number {
  if (typeof tgkId !== "number" || !Number.isInteger(tgkId) || tgkId < 1 || tgkId > max) {
    throw new MbmsError("ERR_TGK_ID", `TGK-ID must be an integer in 1..${max}`);
  }
}

export function checkNewUser(u: NewUser): void {
  if (typeof u !== "object" || u === null) throw new MbmsError("ERR_ARGUMENT", "user must be an object");
  checkId("user", u.userId);
  checkKey("KEK", u.kek);
  if (u.createdAt !== undefined) checkTime("createdAt", u.createdAt);
  checkUserFields(u);
}

export function checkUserUpdate(u: UserUpdate): void {
  if (typeof u !== "object" || u === null) throw new MbmsError("ERR_ARGUMENT", "user update must be an object");
  checkId("user", u.userId);
  if (u.kek !== undefined) checkKey("KEK", u.kek);
  checkUserFields(u);
}

function checkUserFields(u: { disabled?: unknown; services?: unknown }): void {
  if (u.disabled !== undefined && typeof u.disabled !== "boolean") {
    throw new MbmsError("ERR_ARGUMENT", "disabled must be a boolean");
  }
  if (u.services === undefined) return;
  if (!Array.isArray(u.services)) throw new MbmsError("ERR_ARGUMENT", "services must be an array of service ids");
  for (const id of u.services) checkId("service", id);
}

/** Refuses a batch naming the same user twice (all-or-nothing batches must not depend on order). */
export function checkDistinctUsers(users: readonly { userId: string }[]): void {
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.userId)) throw new MbmsError("ERR_DUPLICATE", `user "${u.userId}" appears twice`);
    seen.add(u.userId);
  }
}

/** `maxPerUser` of rememberNonce: a positive integer or undefined (no limit). */
export function checkNonceCap(max: unknown): void {
  if (max !== undefined && (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1)) {
    throw new MbmsError("ERR_ARGUMENT", "maxPerUser must be a positive integer");
  }
}

export function checkNewService(s: NewService): void {
  if (typeof s !== "object" || s === null) throw new MbmsError("ERR_ARGUMENT", "service must be an object");
  checkId("service", s.serviceId);
  if (!Number.isInteger(s.csbId) || s.csbId < 0 || s.csbId > 0xffffffff) {
    throw new MbmsError("ERR_ARGUMENT", "CSB ID must be an integer in 0..2^32-1");
  }
  if (!Number.isInteger(s.csId) || s.csId < 0 || s.csId > 0xff) {
    throw new MbmsError("ERR_ARGUMENT", "cs_id must be an integer in 0..255");
  }
  if (typeof s.srtpProfile !== "string" || s.srtpProfile.length === 0 || s.srtpProfile.length > 64) {
    throw new MbmsError("ERR_ARGUMENT", "SRTP profile must be a name of 1..64 characters");
  }
  checkRandom("TEK_RAND", s.tekRand, 16, 255);
  if (s.nextTgkId !== undefined) checkTgkId(s.nextTgkId);
  if (s.tekScheme !== undefined && (typeof s.tekScheme !== "string" || s.tekScheme.length === 0 || s.tekScheme.length > 64)) {
    throw new MbmsError("ERR_ARGUMENT", "TEK scheme must be a name of 1..64 characters");
  }
}

export function checkTgkRecord(t: TgkRecord): void {
  if (typeof t !== "object" || t === null) throw new MbmsError("ERR_ARGUMENT", "TGK must be an object");
  checkId("service", t.serviceId);
  checkTgkId(t.tgkId);
  checkKey("TGK", t.tgk);
  checkTime("validFrom", t.validFrom);
  checkTime("expiresAt", t.expiresAt);
  if (t.expiresAt <= t.validFrom) throw new MbmsError("ERR_ARGUMENT", "a TGK must expire after it becomes valid");
}

/** TEK_RAND2 is the random part of the MKI: 8..16 bytes (key-hierarchy.ts, docs/key-derivation.md §3). */
export function checkTekRand2(r: unknown): asserts r is Uint8Array {
  checkRandom("TEK_RAND2", r, 8, 16);
}

/** Replay-cache nonces: 1..255 bytes. */
export function checkNonce(n: unknown): asserts n is Uint8Array {
  checkRandom("nonce", n, 1, 255);
}

export function checkListOptions(o: ListOptions | undefined): void {
  if (o === undefined) return;
  if (o.after !== undefined && typeof o.after !== "string") throw new MbmsError("ERR_ARGUMENT", "after must be a string");
  if (o.limit !== undefined && (!Number.isSafeInteger(o.limit) || o.limit < 0)) {
    throw new MbmsError("ERR_ARGUMENT", "limit must be a non-negative integer");
  }
}

export function checkMaxTgkId(max: unknown): asserts max is number {
  if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_TGK_ID) {
    throw new MbmsError("ERR_ARGUMENT", "maxTgkId must be an integer in 1..2^32-1");
  }
}

/**
 * allocateTgkId's rule, shared by every backend: from the stored counter `next`, the first ID not held by a
 * stored TGK (`isHeld`; `held` of them exist), wrapping from `max` to 1. Returns the ID and the counter
 * after it; ERR_TGK_ID when every ID is taken.
 */
export function pickTgkId(next: number, max: number, held: number, isHeld: (id: number) => boolean): [id: number, next: number] {
  let id = next > max ? 1 : next;
  for (let tries = 0; isHeld(id); tries++) {
    if (tries >= max || tries >= held) throw new MbmsError("ERR_TGK_ID", "every TGK-ID of the service is in use");
    id = id >= max ? 1 : id + 1;
  }
  return [id, id >= max ? 1 : id + 1];
}

/** Orders strings by code point, which is UTF-8 byte order (SQLite's BINARY collation on TEXT). */
export function compareIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+10000 and up) must sort after U+E000..U+FFFF: shift the two ranges past each other.
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** A fresh Uint8Array holding a copy of `b` (never a Buffer, never shared). */
export const copyBytes = (b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
};
