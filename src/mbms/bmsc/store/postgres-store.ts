// AsyncKeyStore on a PostgreSQL server through a pg.Pool: the store that BM-SC instances on several hosts
// share. Node only. Same semantics and error codes as SqliteKeyStore (one behaviour suite runs on both);
// every call is one statement or one transaction on one pooled connection (READ COMMITTED), and the calls
// instances race on are written for it:
// - allocateTgkId locks the service row (SELECT … FOR UPDATE) for its fetch-and-increment;
// - rotateTekRand2 is one upsert whose WHERE is the compare-and-set (the conflicting row stays locked even
//   when the WHERE fails, so the loser reads the winner's value in the same transaction);
// - rememberNonce (the schema's remember_nonces function, for a batch of concurrent calls in one round trip)
//   takes a transaction-scoped advisory lock on each user, so the replay check, the per-user cap and the
//   insert see one state across instances; its purge of expired nonces skips rows another instance is
//   deleting (SKIP LOCKED) instead of waiting for, or deadlocking with, it. It forgets at most 1,000 expired
//   nonces per batch (purgeNonces forgets all); the checks ignore expired rows anyway.
// - readKeyRequest, the other statement of every key request, reads user, subscription, service and TGKs at
//   once, also batched (postgres-key-request.ts, coalescer.ts).
// Keys: bytea goes in from the caller's Uint8Array and comes out as a fresh Uint8Array (the driver's Buffer
// zeroed). A KEK, TGK, TEK_RAND or TEK_RAND2 is overwritten with zeros before its row is deleted, as
// SQLite's secure_delete does — but PostgreSQL is MVCC: the UPDATE writes a new row version and the old
// one, key included, stays in the table file until VACUUM reclaims it (and its bytes until the space is
// reused), besides the WAL. The zeroing only keeps the last version clean; the database holds keys in clear
// whatever is done, so keep it on an encrypted disk, restrict who may connect and VACUUM regularly. The
// driver also keeps its own copies (bytea travels as hex text) that nobody can zero.
// Errors: see postgres-errors.ts. The pool's idle-connection errors are absorbed; the next call reconnects.
import pg from "pg";
import { MbmsError } from "../../errors.js";
import type { AsyncKeyStore } from "./async-store.js";
import { pgStoreError } from "./postgres-errors.js";
import { ensureSchema } from "./postgres-schema.js";
import { DELETE_STREAM, LIST_STREAMS, acquireLease, pairs, putStreamPosition, releaseLease, subscribe, wipeAndDelete, type Query } from "./postgres-sql.js";
import { checkStreamList, checkStreamRecord, type SrtpStreamPosition } from "./stream-records.js";
import { checkLease, type Lease } from "./lease.js";
import { fromBlob, rand2State, serviceRecord, tgkRecord, type Rand2Row, type ServiceRow, type TgkRow } from "./sqlite-rows.js";
import {
  DEFAULT_BATCHES_IN_FLIGHT, DEFAULT_MAX_BATCH, checkBatchOptions, readKeyRequests, rememberNonces, type BatchOptions, type NonceCall, type ReadCall,
} from "./postgres-key-request.js";
import { Coalescer } from "./coalescer.js";
import type { KeyRequestRead } from "./key-request-read.js";
import {
  MAX_TGK_ID, checkDistinctUsers, checkId, checkListOptions, checkMaxTgkId, checkNewService, checkNewUser, checkNonce,
  checkNonceCap, checkTekRand2, checkTgkId, checkTgkRecord, checkTime, checkUserUpdate, pickTgkId,
  type ListOptions, type NewService, type NewUser, type NonceResult, type RotateResult, type ServiceRecord,
  type TekRand2State, type TgkRecord, type UserRecord, type UserUpdate,
} from "./types.js";

export { POSTGRES_SCHEMA_VERSION } from "./postgres-schema.js";

export interface PostgresKeyStoreOptions extends BatchOptions {
  /**
   * The schema holding the store's tables, created if absent (an identifier of lower-case letters, digits
   * and _): several stores on one database. Default: the connection's search_path (usually public).
   */
  schema?: string;
}

const ignore = (): void => undefined;

const TGK_COLUMNS = "service_id, tgk_id, tgk, valid_from, expires_at";
const RAND2_COLUMNS = "service_id, current, current_start, previous, previous_start";
/** Forgets expired nonces ($1 = now), skipping the rows another transaction is deleting: it never waits, so it takes part in no deadlock. */
const PURGE_NONCES = "DELETE FROM nonces WHERE ctid = ANY (ARRAY (SELECT ctid FROM nonces WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED))";
/** Expired nonces a batch of rememberNonce calls forgets at most: more than a batch adds, so a backlog drains. */
const PURGE_BATCH = 1000;

/** bigint comes back as a number: every bigint here is a safe integer (times, TGK-IDs, counts). */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** Opens a pool on `target` (a URL or a pg.PoolConfig), then creates or checks the schema (see postgres-schema.ts). */
export async function openPostgresKeyStore(target: string | pg.PoolConfig, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
  const schema = options.schema;
  if (schema !== undefined && (typeof schema !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))) {
    throw new MbmsError("ERR_ARGUMENT", "schema must be 1..63 lower-case letters, digits or _, not starting with a digit");
  }
  checkBatchOptions(options);
  let config: pg.PoolConfig;
  if (typeof target === "string") config = { connectionString: target };
  else if (typeof target === "object" && target !== null) config = { ...target };
  else throw new MbmsError("ERR_ARGUMENT", "target must be a connection URL or a pg.PoolConfig");
  if (schema !== undefined) config.options = `${config.options ?? ""} -c search_path=${schema}`.trim();
  const pool = new pg.Pool({ ...config, types });
  pool.on("error", ignore); // an idle connection died (server restart, pg_terminate_backend): the pool drops it
  let client: pg.PoolClient | undefined;
  try {
    client = await pool.connect();
    await ensureSchema(client, schema);
    client.release();
  } catch (e) {
    client?.release(true);
    await pool.end().catch(() => undefined);
    throw pgStoreError(e, "opening the key store");
  }
  return new PostgresKeyStore(pool, options);
}

export class PostgresKeyStore implements AsyncKeyStore {
  readonly async = true;
  #pool: pg.Pool;
  #closed = false;

  /** The key-request path's two calls, batched while earlier batches are in flight (coalescer.ts). */
  #reads: Coalescer<ReadCall, KeyRequestRead>;
  #nonces: Coalescer<NonceCall, NonceResult>;

  /** Use openPostgresKeyStore, which creates or checks the schema first. */
  constructor(pool: pg.Pool, { batchesInFlight = DEFAULT_BATCHES_IN_FLIGHT, maxBatch = DEFAULT_MAX_BATCH }: BatchOptions = {}) {
    this.#pool = pool;
    const run = (what: string) => (config: pg.QueryConfig, values: unknown[]) => this.#query(what, config, values);
    this.#reads = new Coalescer((calls) => readKeyRequests(run("reading a key request"), calls), batchesInFlight, maxBatch);
    this.#nonces = new Coalescer((calls) => rememberNonces(run("recording a nonce"), calls, PURGE_BATCH), batchesInFlight, maxBatch);
  }

  #open(): void {
    if (this.#closed) throw new MbmsError("ERR_STORE", "the key store is closed");
  }

  /** One statement on any pooled connection (a named one is prepared once per connection). */
  async #query(what: string, sql: string | pg.QueryConfig, params: unknown[] = []): Promise<pg.QueryResult> {
    this.#open();
    try {
      return await (typeof sql === "string" ? this.#pool.query(sql, params) : this.#pool.query({ ...sql, values: params }));
    } catch (e) {
      throw pgStoreError(e, what);
    }
  }

  /** `fn` in one transaction on one connection; a connection that cannot even roll back is dropped. */
  async #tx<T>(what: string, fn: (q: Query) => Promise<T>): Promise<T> {
    this.#open();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw pgStoreError(e, what);
    }
    // A connection that dies between statements emits "error" on the client, which nobody else listens to
    // while it is checked out: absorbed here, the next statement fails and the client is dropped.
    client.on("error", ignore);
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn((sql, params) => client.query(sql, params));
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw pgStoreError(e, what);
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  }

  async addUser(user: NewUser): Promise<void> {
    return this.addUsers([user]);
  }

  async addUsers(users: readonly NewUser[]): Promise<void> {
    if (!Array.isArray(users)) throw new MbmsError("ERR_ARGUMENT", "users must be an array");
    for (const u of users) checkNewUser(u);
    checkDistinctUsers(users);
    const now = Date.now();
    await this.#tx("adding users", async (q) => {
      await q(
        "INSERT INTO users (user_id, kek, created_at, disabled) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::boolean[])",
        [users.map((u) => u.userId), users.map((u) => u.kek), users.map((u) => u.createdAt ?? now), users.map((u) => u.disabled ?? false)],
      );
      await subscribe(q, ...pairs(users));
    });
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    checkId("user", userId);
    const r = (await this.#query("reading a user", "SELECT user_id, kek, created_at, disabled FROM users WHERE user_id = $1", [userId])).rows[0];
    return r && { userId: r.user_id, kek: fromBlob(r.kek), createdAt: r.created_at, disabled: r.disabled };
  }

  async listUserIds(options?: ListOptions): Promise<string[]> {
    checkListOptions(options);
    const limit = options?.limit ?? null;
    const after = options?.after;
    const r = after === undefined
      ? await this.#query("listing users", "SELECT user_id FROM users ORDER BY user_id LIMIT $1", [limit])
      : await this.#query("listing users", "SELECT user_id FROM users WHERE user_id > $1 ORDER BY user_id LIMIT $2", [after, limit]);
    return r.rows.map((x) => x.user_id as string);
  }

  async setUserDisabled(userId: string, disabled: boolean): Promise<void> {
    return this.updateUsers([{ userId, disabled }]);
  }

  async updateUsers(updates: readonly UserUpdate[]): Promise<void> {
    if (!Array.isArray(updates)) throw new MbmsError("ERR_ARGUMENT", "updates must be an array");
    for (const u of updates) checkUserUpdate(u);
    checkDistinctUsers(updates);
    const ids = updates.map((u) => u.userId);
    await this.#tx("updating users", async (q) => {
      const found = new Set((await q("SELECT user_id FROM users WHERE user_id = ANY ($1::text[]) FOR UPDATE", [ids])).rows.map((r) => r.user_id));
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new MbmsError("ERR_NOT_FOUND", `no user "${missing}"`);
      await q(
        `UPDATE users AS u SET kek = coalesce(v.kek, u.kek), disabled = coalesce(v.disabled, u.disabled)
         FROM unnest($1::text[], $2::bytea[], $3::boolean[]) AS v (user_id, kek, disabled) WHERE u.user_id = v.user_id`,
        [ids, updates.map((u) => u.kek ?? null), updates.map((u) => u.disabled ?? null)],
      );
      const resubscribed = updates.filter((u) => u.services !== undefined);
      if (resubscribed.length === 0) return;
      await q("DELETE FROM subscriptions WHERE user_id = ANY ($1::text[])", [resubscribed.map((u) => u.userId)]);
      await subscribe(q, ...pairs(resubscribed));
    });
  }

  async listSubscriptions(userId: string): Promise<string[]> {
    checkId("user", userId);
    const r = await this.#query("listing subscriptions", "SELECT service_id FROM subscriptions WHERE user_id = $1 ORDER BY service_id", [userId]);
    return r.rows.map((x) => x.service_id as string);
  }

  async isSubscribed(userId: string, serviceId: string): Promise<boolean> {
    checkId("user", userId);
    checkId("service", serviceId);
    const r = await this.#query("reading a subscription", "SELECT 1 FROM subscriptions WHERE user_id = $1 AND service_id = $2", [userId, serviceId]);
    return r.rows.length > 0;
  }

  async removeUser(userId: string): Promise<boolean> {
    checkId("user", userId);
    return this.#tx("removing a user", async (q) => (await wipeAndDelete(q, "users", ["kek"], "user_id = $1", [userId])) > 0);
  }

  async addService(service: NewService): Promise<void> {
    checkNewService(service);
    const { serviceId, csbId, csId, srtpProfile, tekRand } = service;
    await this.#query(
      `adding service "${serviceId}"`,
      "INSERT INTO services (service_id, csb_id, cs_id, srtp_profile, tek_rand, next_tgk_id, tek_scheme) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [serviceId, csbId, csId, srtpProfile, tekRand, service.nextTgkId ?? 1, service.tekScheme ?? null],
    );
  }

  async getService(serviceId: string): Promise<ServiceRecord | undefined> {
    checkId("service", serviceId);
    const r = await this.#query(
      "reading a service",
      "SELECT service_id, csb_id, cs_id, srtp_profile, tek_rand, next_tgk_id, tek_scheme FROM services WHERE service_id = $1",
      [serviceId],
    );
    return r.rows[0] && serviceRecord(r.rows[0] as ServiceRow);
  }

  async listServiceIds(): Promise<string[]> {
    return (await this.#query("listing services", "SELECT service_id FROM services ORDER BY service_id")).rows.map((x) => x.service_id as string);
  }

  async removeService(serviceId: string): Promise<boolean> {
    checkId("service", serviceId);
    return this.#tx("removing a service", async (q) => {
      const where = "service_id = $1";
      await wipeAndDelete(q, "tgks", ["tgk"], where, [serviceId]);
      await wipeAndDelete(q, "tek_rand2", ["current", "previous"], where, [serviceId]);
      return (await wipeAndDelete(q, "services", ["tek_rand"], where, [serviceId])) > 0; // subscriptions cascade
    });
  }

  async allocateTgkId(serviceId: string, maxTgkId: number = MAX_TGK_ID): Promise<number> {
    checkId("service", serviceId);
    checkMaxTgkId(maxTgkId);
    return this.#tx("allocating a TGK-ID", async (q) => {
      const row = (await q("SELECT next_tgk_id FROM services WHERE service_id = $1 FOR UPDATE", [serviceId])).rows[0];
      if (row === undefined) throw new MbmsError("ERR_NOT_FOUND", `no service "${serviceId}"`);
      const held = new Set((await q("SELECT tgk_id FROM tgks WHERE service_id = $1", [serviceId])).rows.map((r) => r.tgk_id as number));
      const [id, next] = pickTgkId(row.next_tgk_id as number, maxTgkId, held.size, (x) => held.has(x));
      await q("UPDATE services SET next_tgk_id = $2 WHERE service_id = $1", [serviceId, next]);
      return id;
    });
  }

  async addTgk(tgk: TgkRecord): Promise<void> {
    checkTgkRecord(tgk);
    const { serviceId, tgkId } = tgk;
    await this.#query(
      `adding TGK-ID ${tgkId} to service "${serviceId}"`,
      `INSERT INTO tgks (${TGK_COLUMNS}) VALUES ($1, $2, $3, $4, $5)`,
      [serviceId, tgkId, tgk.tgk, tgk.validFrom, tgk.expiresAt],
    );
  }

  async getTgk(serviceId: string, tgkId: number): Promise<TgkRecord | undefined> {
    checkId("service", serviceId);
    checkTgkId(tgkId);
    const r = await this.#query("reading a TGK", `SELECT ${TGK_COLUMNS} FROM tgks WHERE service_id = $1 AND tgk_id = $2`, [serviceId, tgkId]);
    return r.rows[0] && tgkRecord(r.rows[0] as TgkRow);
  }

  async listTgks(serviceId: string): Promise<TgkRecord[]> {
    checkId("service", serviceId);
    const r = await this.#query("listing TGKs", `SELECT ${TGK_COLUMNS} FROM tgks WHERE service_id = $1 ORDER BY expires_at, tgk_id`, [serviceId]);
    return (r.rows as TgkRow[]).map(tgkRecord);
  }

  async deleteExpiredTgks(now: number, serviceId?: string): Promise<number> {
    checkTime("now", now);
    if (serviceId !== undefined) checkId("service", serviceId);
    return this.#tx("deleting expired TGKs", (q) => serviceId === undefined
      ? wipeAndDelete(q, "tgks", ["tgk"], "expires_at <= $1", [now])
      : wipeAndDelete(q, "tgks", ["tgk"], "expires_at <= $1 AND service_id = $2", [now, serviceId]));
  }

  async endTgks(serviceId: string, at: number): Promise<number> {
    checkId("service", serviceId);
    checkTime("at", at);
    // Not-yet-valid ones first: what is left starts before `at`, so expires_at = at keeps expires_at > valid_from.
    return this.#tx("ending TGKs", async (q) => {
      if ((await q("SELECT 1 FROM services WHERE service_id = $1 FOR SHARE", [serviceId])).rows.length === 0) {
        throw new MbmsError("ERR_NOT_FOUND", `no service "${serviceId}"`);
      }
      const deleted = await wipeAndDelete(q, "tgks", ["tgk"], "service_id = $1 AND valid_from >= $2", [serviceId, at]);
      const ended = await q("UPDATE tgks SET expires_at = $2 WHERE service_id = $1 AND expires_at > $2", [serviceId, at]);
      return deleted + (ended.rowCount ?? 0);
    });
  }

  async getTekRand2(serviceId: string): Promise<TekRand2State | undefined> {
    checkId("service", serviceId);
    const r = await this.#query("reading TEK_RAND2", `SELECT ${RAND2_COLUMNS} FROM tek_rand2 WHERE service_id = $1`, [serviceId]);
    return r.rows[0] && rand2State(r.rows[0] as Rand2Row);
  }

  async rotateTekRand2(serviceId: string, rand2: Uint8Array, startsAt: number): Promise<RotateResult> {
    checkId("service", serviceId);
    checkTekRand2(rand2);
    checkTime("startsAt", startsAt);
    return this.#tx("rotating TEK_RAND2", async (q) => {
      const won = await q(
        `INSERT INTO tek_rand2 (${RAND2_COLUMNS}) VALUES ($1, $2, $3, NULL, NULL)
         ON CONFLICT (service_id) DO UPDATE SET
           previous = tek_rand2.current, previous_start = tek_rand2.current_start,
           current = excluded.current, current_start = excluded.current_start
         WHERE tek_rand2.current_start < excluded.current_start
         RETURNING ${RAND2_COLUMNS}`,
        [serviceId, rand2, startsAt],
      );
      if (won.rows[0]) return { applied: true, state: rand2State(won.rows[0] as Rand2Row) };
      const r = await q(`SELECT ${RAND2_COLUMNS} FROM tek_rand2 WHERE service_id = $1`, [serviceId]);
      return { applied: false, state: rand2State(r.rows[0] as Rand2Row) };
    });
  }

  async rememberNonce(userId: string, nonce: Uint8Array, expiresAt: number, now: number = Date.now(), maxPerUser?: number): Promise<NonceResult> {
    checkId("user", userId);
    checkNonce(nonce);
    checkTime("expiresAt", expiresAt);
    checkTime("now", now);
    checkNonceCap(maxPerUser);
    // Copied: the call may wait for a batch, and the caller may reuse its array once this returns.
    return this.#nonces.call({ userId, nonce: Uint8Array.from(nonce), expiresAt, now, maxPerUser: maxPerUser ?? null });
  }

  async readKeyRequest(userId: string, serviceId: string): Promise<KeyRequestRead> {
    checkId("user", userId);
    checkId("service", serviceId);
    this.#open();
    return this.#reads.call({ userId, serviceId });
  }

  async purgeNonces(now: number): Promise<number> {
    checkTime("now", now);
    return (await this.#query("purging nonces", PURGE_NONCES, [now])).rowCount ?? 0;
  }

  async countNonces(userId?: string): Promise<number> {
    if (userId !== undefined) checkId("user", userId);
    const r = userId === undefined
      ? await this.#query("counting nonces", "SELECT count(*) AS n FROM nonces")
      : await this.#query("counting nonces", "SELECT count(*) AS n FROM nonces WHERE user_id = $1", [userId]);
    return r.rows[0].n as number;
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: number): Promise<Lease> {
    checkLease(name, owner, ttlMs, now);
    return this.#tx("taking a lease", (q) => acquireLease(q, name, owner, ttlMs, now));
  }

  async releaseLease(name: string, owner: string): Promise<boolean> {
    checkLease(name, owner);
    return releaseLease((sql, params) => this.#query("releasing a lease", sql, params), name, owner);
  }

  async countLeases(): Promise<number> {
    return (await this.#query("counting leases", "SELECT count(*) AS n FROM leases")).rows[0].n as number;
  }

  async putStreamPosition(serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number): Promise<void> {
    checkStreamRecord(serviceId, ssrc, roc, ttlMs, now);
    await putStreamPosition((sql, params) => this.#query("recording a stream position", sql, params), serviceId, ssrc, roc, ttlMs, now);
  }

  async listStreamPositions(serviceId: string, now: number): Promise<SrtpStreamPosition[]> {
    checkStreamList(serviceId, now);
    return (await this.#query("listing stream positions", LIST_STREAMS, [serviceId, now])).rows as SrtpStreamPosition[];
  }

  async deleteStreamPosition(serviceId: string, ssrc: number): Promise<boolean> {
    checkStreamRecord(serviceId, ssrc);
    return ((await this.#query("deleting a stream position", DELETE_STREAM, [serviceId, ssrc])).rowCount ?? 0) > 0;
  }

  /** Ends the pool (waiting for calls in flight); later calls are ERR_STORE. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#pool.end();
    } catch (e) {
      throw pgStoreError(e, "closing the key store");
    }
  }
}
