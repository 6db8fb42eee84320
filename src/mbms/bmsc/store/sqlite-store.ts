// KeyStore in an SQLite file through better-sqlite3: the BM-SC's default, embedded store. Node only.
//
// - WAL journal: readers never block the writer, and several processes (BM-SC instances on one host) may
//   open the same file; each call is one transaction, write transactions start IMMEDIATE so two instances
//   never deadlock upgrading a read lock, and a busy database is waited for (busyTimeoutMs) before ERR_STORE.
//   For instances on several hosts, put another KeyStore on a server database: SQLite over a network
//   file system is not safe.
// - synchronous=FULL by default: a committed key survives a power cut, not only a process crash.
// - secure_delete=ON: a removed KEK or an expired TGK is overwritten in the database file. Until the next
//   checkpoint an old copy of the page may still sit in the -wal file; the file holds keys in clear
//   either way: a new file is created with mode 0600 (its -wal and -shm files inherit it); keep it on an
//   encrypted disk.
// - A schema_version table; a file written by a newer schema is refused with ERR_STORE.
// - No SqliteError leaves this module: constraint failures become ERR_DUPLICATE / ERR_NOT_FOUND, anything
//   else ERR_STORE with the SQLite result code only (never a bound value).
import { closeSync, openSync } from "node:fs";
import Database from "better-sqlite3";
import { MbmsError } from "../../errors.js";
import { checkLease, leaseAfter, type Lease } from "./lease.js";
import { storeError } from "./sqlite-errors.js";
import { prepareAll, type Statements } from "./sqlite-statements.js";
import { migrate } from "./sqlite-schema.js";
import { MAX_LISTED_STREAMS, checkStreamList, checkStreamRecord } from "./stream-records.js";
import type { SrtpStreamPosition } from "../../stream-positions.js";
import { fromBlob, rand2State, serviceRecord, tgkRecord, type Rand2Row, type ServiceRow, type TgkRow, type UserRow } from "./sqlite-rows.js";
import {
  MAX_TGK_ID, checkDistinctUsers, checkId, checkListOptions, checkMaxTgkId, checkNewService, checkNewUser, checkNonce,
  checkNonceCap, checkTekRand2, checkTgkId, checkTgkRecord, checkTime, checkUserUpdate, pickTgkId,
  type KeyStore, type ListOptions, type NewService, type NewUser, type NonceResult, type RotateResult, type ServiceRecord,
  type TekRand2State, type TgkRecord, type UserRecord, type UserUpdate, RECORDED, REPLAYED,
} from "./types.js";

export { SQLITE_SCHEMA_VERSION } from "./sqlite-schema.js";

export interface SqliteKeyStoreOptions {
  /** "full" (default): durable across power loss. "normal": faster commits, durable across process crashes. */
  synchronous?: "full" | "normal";
  /** How long a call waits for another connection's write lock before ERR_STORE (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Permissions of a newly created database file (default 0o600: it holds KEKs and TGKs in clear). */
  fileMode?: number;
}

export class SqliteKeyStore implements KeyStore {
  readonly path: string;
  #db: Database.Database;
  #closed = false;
  #s: Statements;
  #addUsersTx!: (users: readonly NewUser[], now: number) => void;
  #updateUsersTx!: (updates: readonly UserUpdate[]) => void;
  #nonceTx!: (userId: string, nonce: Uint8Array, expiresAt: number, now: number, max: number | undefined) => NonceResult;
  #allocateTx!: (serviceId: string, max: number) => number;
  #rotateTx!: (serviceId: string, rand2: Uint8Array, startsAt: number) => RotateResult;
  #endTx!: (serviceId: string, at: number) => number;
  #leaseTx!: (name: string, owner: string, ttlMs: number, now: number) => Lease;
  #streamTx!: (serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number) => void;

  constructor(path: string, options: SqliteKeyStoreOptions = {}) {
    if (typeof path !== "string" || path.length === 0) throw new MbmsError("ERR_ARGUMENT", "path must be a non-empty string");
    const sync = options.synchronous ?? "full";
    if (sync !== "full" && sync !== "normal") throw new MbmsError("ERR_ARGUMENT", 'synchronous must be "full" or "normal"');
    const timeout = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(timeout) || timeout < 0) throw new MbmsError("ERR_ARGUMENT", "busyTimeoutMs must be a non-negative integer");
    const mode = options.fileMode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new MbmsError("ERR_ARGUMENT", "fileMode must be in 0..0o777");
    this.path = path;
    if (path !== ":memory:") createPrivate(path, mode);
    let db: Database.Database | undefined;
    let stmts: Statements;
    try {
      db = new Database(path, { timeout });
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${sync.toUpperCase()}`);
      db.pragma("foreign_keys = ON");
      db.pragma("secure_delete = ON");
      migrate(db);
      stmts = prepareAll(db);
    } catch (e) {
      db?.close();
      throw storeError(e, "opening the key store");
    }
    this.#db = db;
    this.#s = stmts;
    this.#buildTransactions();
  }

  #buildTransactions(): void {
    const db = this.#db;
    const s = this.#s;
    const subscribe = (userId: string, services: readonly string[]) => {
      for (const id of services) {
        try {
          s.addSubscription.run(userId, id);
        } catch (e) {
          throw storeError(e, `subscribing user "${userId}" to "${id}"`);
        }
      }
    };
    const addUsers = db.transaction((users: readonly NewUser[], now: number) => {
      for (const u of users) {
        try {
          s.addUser.run(u.userId, u.kek, u.createdAt ?? now, u.disabled ? 1 : 0);
        } catch (e) {
          throw storeError(e, `adding user "${u.userId}"`);
        }
        subscribe(u.userId, u.services ?? []);
      }
    });
    this.#addUsersTx = (users, now) => addUsers.immediate(users, now);

    const updateUsers = db.transaction((updates: readonly UserUpdate[]) => {
      for (const u of updates) {
        if (s.userExists.get(u.userId) === undefined) throw new MbmsError("ERR_NOT_FOUND", `no user "${u.userId}"`);
        if (u.kek !== undefined) s.setKek.run(u.kek, u.userId);
        if (u.disabled !== undefined) s.setDisabled.run(u.disabled ? 1 : 0, u.userId);
        if (u.services !== undefined) {
          s.clearSubscriptions.run(u.userId);
          subscribe(u.userId, u.services);
        }
      }
    });
    this.#updateUsersTx = (updates) => updateUsers.immediate(updates);

    // Forgets the expired nonces first (through the expiry index: cost ∝ how many expired), so every row
    // left is live: a stored (user, nonce) is a replay, and the user's row count is its live count.
    const remember = db.transaction((userId: string, nonce: Uint8Array, expiresAt: number, now: number, max: number | undefined): NonceResult => {
      s.purgeNonces.run(now);
      if (s.nonceExists.get(userId, nonce) !== undefined) return REPLAYED;
      if (max !== undefined && (s.countUserNonces.get(userId) as number) >= max) {
        return { recorded: false, reason: "full", retryAt: s.soonestUserNonce.get(userId) as number };
      }
      s.addNonce.run(userId, nonce, expiresAt);
      return RECORDED;
    });
    this.#nonceTx = (userId, nonce, expiresAt, now, max) => remember.immediate(userId, nonce, expiresAt, now, max);

    const allocate = db.transaction((serviceId: string, max: number): number => {
      const next = s.nextTgkId.get(serviceId) as number | undefined;
      if (next === undefined) throw new MbmsError("ERR_NOT_FOUND", `no service "${serviceId}"`);
      const held = s.countTgks.get(serviceId) as number;
      const [id, after] = pickTgkId(next, max, held, (x) => s.tgkExists.get(serviceId, x) !== undefined);
      s.setNextTgkId.run(after, serviceId);
      return id;
    });
    this.#allocateTx = (serviceId, max) => allocate.immediate(serviceId, max);

    const rotate = db.transaction((serviceId: string, rand2: Uint8Array, startsAt: number): RotateResult => {
      if (s.serviceExists.get(serviceId) === undefined) throw new MbmsError("ERR_NOT_FOUND", `no service "${serviceId}"`);
      const applied = s.rotateRand2.run(serviceId, rand2, startsAt).changes > 0;
      return { applied, state: rand2State(s.getRand2.get(serviceId) as Rand2Row) };
    });
    this.#rotateTx = (serviceId, rand2, startsAt) => rotate.immediate(serviceId, rand2, startsAt);

    // Not-yet-valid ones first: what is left starts before `at`, so expires_at = at keeps expires_at > valid_from.
    const end = db.transaction((serviceId: string, at: number): number => {
      if (s.serviceExists.get(serviceId) === undefined) throw new MbmsError("ERR_NOT_FOUND", `no service "${serviceId}"`);
      return s.deleteNotYetValid.run(serviceId, at).changes + s.endValid.run(at, serviceId, at).changes;
    });
    this.#endTx = (serviceId, at) => end.immediate(serviceId, at);
    const lease = db.transaction((name: string, owner: string, ttlMs: number, now: number) => {
      const l = leaseAfter(s.getLease.get(name) as { owner: string; expiresAt: number } | undefined, name, owner, ttlMs, now);
      if (l.acquired) s.setLease.run(name, owner, l.expiresAt);
      return l;
    });
    this.#leaseTx = (name, owner, ttlMs, now) => lease.immediate(name, owner, ttlMs, now);
    const stream = db.transaction((serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number) => {
      s.purgeStreams.run(serviceId, now);
      s.putStream.run(serviceId, ssrc, roc, now + ttlMs);
    });
    this.#streamTx = (serviceId, ssrc, roc, ttlMs, now) => stream.immediate(serviceId, ssrc, roc, ttlMs, now);
  }

  /** Runs one call: refuses after close, maps every failure to an MbmsError. */
  #call<T>(what: string, fn: () => T): T {
    if (this.#closed) throw new MbmsError("ERR_STORE", "the key store is closed");
    try {
      return fn();
    } catch (e) {
      throw storeError(e, what);
    }
  }

  addUser(user: NewUser): void {
    this.addUsers([user]);
  }

  addUsers(users: readonly NewUser[]): void {
    if (!Array.isArray(users)) throw new MbmsError("ERR_ARGUMENT", "users must be an array");
    for (const u of users) checkNewUser(u);
    checkDistinctUsers(users);
    this.#call("adding users", () => this.#addUsersTx(users, Date.now()));
  }

  getUser(userId: string): UserRecord | undefined {
    checkId("user", userId);
    const r = this.#call("reading a user", () => this.#s.getUser.get(userId) as UserRow | undefined);
    return r && { userId: r.user_id, kek: fromBlob(r.kek), createdAt: r.created_at, disabled: r.disabled !== 0 };
  }

  listUserIds(options?: ListOptions): string[] {
    checkListOptions(options);
    const limit = options?.limit ?? -1;
    const after = options?.after;
    return this.#call("listing users", () =>
      (after === undefined ? this.#s.listUsers.all(limit) : this.#s.listUsersAfter.all(after, limit)) as string[]);
  }

  setUserDisabled(userId: string, disabled: boolean): void {
    this.updateUsers([{ userId, disabled }]);
  }

  updateUsers(updates: readonly UserUpdate[]): void {
    if (!Array.isArray(updates)) throw new MbmsError("ERR_ARGUMENT", "updates must be an array");
    for (const u of updates) checkUserUpdate(u);
    checkDistinctUsers(updates);
    this.#call("updating users", () => this.#updateUsersTx(updates));
  }

  listSubscriptions(userId: string): string[] {
    checkId("user", userId);
    return this.#call("listing subscriptions", () => this.#s.listSubscriptions.all(userId) as string[]);
  }

  isSubscribed(userId: string, serviceId: string): boolean {
    checkId("user", userId);
    checkId("service", serviceId);
    return this.#call("reading a subscription", () => this.#s.isSubscribed.get(userId, serviceId) !== undefined);
  }

  removeUser(userId: string): boolean {
    checkId("user", userId);
    return this.#call("removing a user", () => this.#s.removeUser.run(userId).changes > 0);
  }

  addService(service: NewService): void {
    checkNewService(service);
    const { serviceId, csbId, csId, srtpProfile, tekRand } = service;
    this.#call(`adding service "${serviceId}"`, () =>
      this.#s.addService.run(serviceId, csbId, csId, srtpProfile, tekRand, service.nextTgkId ?? 1, service.tekScheme ?? null));
  }

  getService(serviceId: string): ServiceRecord | undefined {
    checkId("service", serviceId);
    const r = this.#call("reading a service", () => this.#s.getService.get(serviceId) as ServiceRow | undefined);
    return r && serviceRecord(r);
  }

  listServiceIds(): string[] {
    return this.#call("listing services", () => this.#s.listServices.all() as string[]);
  }

  removeService(serviceId: string): boolean {
    checkId("service", serviceId);
    return this.#call("removing a service", () => this.#s.removeService.run(serviceId).changes > 0);
  }

  allocateTgkId(serviceId: string, maxTgkId: number = MAX_TGK_ID): number {
    checkId("service", serviceId);
    checkMaxTgkId(maxTgkId);
    return this.#call("allocating a TGK-ID", () => this.#allocateTx(serviceId, maxTgkId));
  }

  addTgk(tgk: TgkRecord): void {
    checkTgkRecord(tgk);
    const { serviceId, tgkId } = tgk;
    this.#call(`adding TGK-ID ${tgkId} to service "${serviceId}"`, () =>
      this.#s.addTgk.run(serviceId, tgkId, tgk.tgk, tgk.validFrom, tgk.expiresAt));
  }

  getTgk(serviceId: string, tgkId: number): TgkRecord | undefined {
    checkId("service", serviceId);
    checkTgkId(tgkId);
    const r = this.#call("reading a TGK", () => this.#s.getTgk.get(serviceId, tgkId) as TgkRow | undefined);
    return r && tgkRecord(r);
  }

  listTgks(serviceId: string): TgkRecord[] {
    checkId("service", serviceId);
    return this.#call("listing TGKs", () => (this.#s.listTgks.all(serviceId) as TgkRow[]).map(tgkRecord));
  }

  deleteExpiredTgks(now: number, serviceId?: string): number {
    checkTime("now", now);
    if (serviceId !== undefined) checkId("service", serviceId);
    return this.#call("deleting expired TGKs", () =>
      (serviceId === undefined ? this.#s.deleteExpired.run(now) : this.#s.deleteExpiredOf.run(now, serviceId)).changes);
  }

  endTgks(serviceId: string, at: number): number {
    checkId("service", serviceId);
    checkTime("at", at);
    return this.#call("ending TGKs", () => this.#endTx(serviceId, at));
  }

  getTekRand2(serviceId: string): TekRand2State | undefined {
    checkId("service", serviceId);
    const r = this.#call("reading TEK_RAND2", () => this.#s.getRand2.get(serviceId) as Rand2Row | undefined);
    return r && rand2State(r);
  }

  rotateTekRand2(serviceId: string, rand2: Uint8Array, startsAt: number): RotateResult {
    checkId("service", serviceId);
    checkTekRand2(rand2);
    checkTime("startsAt", startsAt);
    return this.#call("rotating TEK_RAND2", () => this.#rotateTx(serviceId, rand2, startsAt));
  }

  rememberNonce(userId: string, nonce: Uint8Array, expiresAt: number, now: number = Date.now(), maxPerUser?: number): NonceResult {
    checkId("user", userId);
    checkNonce(nonce);
    checkTime("expiresAt", expiresAt);
    checkTime("now", now);
    checkNonceCap(maxPerUser);
    return this.#call("recording a nonce", () => this.#nonceTx(userId, nonce, expiresAt, now, maxPerUser));
  }

  purgeNonces(now: number): number {
    checkTime("now", now);
    return this.#call("purging nonces", () => this.#s.purgeNonces.run(now).changes);
  }

  countNonces(userId?: string): number {
    if (userId !== undefined) checkId("user", userId);
    return this.#call("counting nonces", () =>
      (userId === undefined ? this.#s.countNonces.get() : this.#s.countUserNonces.get(userId)) as number);
  }

  acquireLease(name: string, owner: string, ttlMs: number, now: number): Lease {
    checkLease(name, owner, ttlMs, now);
    return this.#call("taking a lease", () => this.#leaseTx(name, owner, ttlMs, now));
  }

  releaseLease(name: string, owner: string): boolean {
    checkLease(name, owner);
    return this.#call("releasing a lease", () => this.#s.releaseLease.run(name, owner).changes > 0);
  }

  countLeases(): number {
    return this.#call("counting leases", () => this.#s.countLeases.get() as number);
  }

  putStreamPosition(serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number): void {
    checkStreamRecord(serviceId, ssrc, roc, ttlMs, now);
    this.#call("recording a stream position", () => this.#streamTx(serviceId, ssrc, roc, ttlMs, now));
  }

  listStreamPositions(serviceId: string, now: number): SrtpStreamPosition[] {
    checkStreamList(serviceId, now);
    return this.#call("listing stream positions", () => this.#s.listStreams.all(serviceId, now, MAX_LISTED_STREAMS) as SrtpStreamPosition[]);
  }

  deleteStreamPosition(serviceId: string, ssrc: number): boolean {
    checkStreamRecord(serviceId, ssrc);
    return this.#call("deleting a stream position", () => this.#s.deleteStream.run(serviceId, ssrc).changes > 0);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.close();
    } catch (e) {
      throw storeError(e, "closing the key store");
    }
  }
}

/** Creates an empty file (a valid empty database) with `mode` if none exists; failures are left to SQLite. */
function createPrivate(path: string, mode: number): void {
  try {
    closeSync(openSync(path, "wx", mode));
  } catch {
    // exists already, or cannot be created: opening reports the latter as ERR_STORE
  }
}
