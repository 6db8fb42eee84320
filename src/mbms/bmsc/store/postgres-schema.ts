// The PostgreSQL store's schema, versioned like the SQLite one (its own numbering: version 1 holds what
// SQLite's version 3 holds). It is created, or checked, in one transaction under a transaction-scoped
// advisory lock, so that BM-SC instances starting at once on an empty database wait for the first one
// instead of failing on each other's CREATE (or creating twice). A database of version 1 or 2 is migrated (v2
// adds the leases table, v3 the remember_nonces function, v4 the stream_positions table); one of any other version is refused with ERR_STORE.
//
// Ids are `COLLATE "C"`: byte order, which for UTF-8 is code-point order, as compareIds and SQLite's BINARY.
// Times are bigint milliseconds; TGK-IDs and CSB IDs bigint (they reach 2^32-1).
import type pg from "pg";
import { MbmsError } from "../../errors.js";

export const POSTGRES_SCHEMA_VERSION = 4;

/** The two-key advisory lock namespace of this store ("mbms"); key 2 is 0 for the schema, a user's hash for its nonces. */
export const LOCK_NAMESPACE = 0x6d626d73;

const SCHEMA_V1 = `
CREATE TABLE schema_version (
  id      integer PRIMARY KEY CHECK (id = 1),
  version integer NOT NULL
);
CREATE TABLE users (
  user_id    text COLLATE "C" PRIMARY KEY,
  kek        bytea NOT NULL CHECK (length(kek) IN (16, 32)),
  created_at bigint NOT NULL,
  disabled   boolean NOT NULL DEFAULT false
);
CREATE TABLE services (
  service_id   text COLLATE "C" PRIMARY KEY,
  csb_id       bigint NOT NULL CHECK (csb_id BETWEEN 0 AND 4294967295),
  cs_id        integer NOT NULL CHECK (cs_id BETWEEN 0 AND 255),
  srtp_profile text NOT NULL,
  tek_rand     bytea NOT NULL CHECK (length(tek_rand) BETWEEN 16 AND 255),
  next_tgk_id  bigint NOT NULL CHECK (next_tgk_id BETWEEN 1 AND 4294967295),
  tek_scheme   text CHECK (tek_scheme IS NULL OR length(tek_scheme) BETWEEN 1 AND 64)
);
CREATE TABLE subscriptions (
  user_id    text COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  service_id text COLLATE "C" NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, service_id)
);
CREATE INDEX subscriptions_by_service ON subscriptions (service_id);
CREATE TABLE tgks (
  service_id text COLLATE "C" NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  tgk_id     bigint NOT NULL CHECK (tgk_id BETWEEN 1 AND 4294967295),
  tgk        bytea NOT NULL CHECK (length(tgk) IN (16, 32)),
  valid_from bigint NOT NULL,
  expires_at bigint NOT NULL CHECK (expires_at > valid_from),
  PRIMARY KEY (service_id, tgk_id)
);
CREATE INDEX tgks_by_expiry ON tgks (expires_at);
CREATE TABLE tek_rand2 (
  service_id     text COLLATE "C" PRIMARY KEY REFERENCES services (service_id) ON DELETE CASCADE,
  current        bytea NOT NULL CHECK (length(current) BETWEEN 8 AND 16),
  current_start  bigint NOT NULL,
  previous       bytea CHECK (previous IS NULL OR length(previous) BETWEEN 8 AND 16),
  previous_start bigint
);
CREATE TABLE nonces (
  user_id    text COLLATE "C" NOT NULL,
  nonce      bytea NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (user_id, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
`;

// v1 → v2: leases (lease.ts), e.g. which instance owns a service's schedule.
const SCHEMA_V2 = `
CREATE TABLE leases (
  name       text COLLATE "C" PRIMARY KEY,
  owner      text NOT NULL,
  expires_at bigint NOT NULL
);
`;

// v2 → v3: rememberNonce for a batch of calls in one round trip (it was five round trips per call: BEGIN,
// lock, insert, purge, COMMIT; postgres-store.ts batches concurrent calls). The function is one transaction:
// it first takes the advisory lock of every user of the batch, in the order of the lock keys (two batches
// never wait for each other in a cycle), then answers the calls in batch order (the same nonce twice in a
// batch: the second is a replay), then purges. Each statement in it takes a new snapshot (READ COMMITTED,
// a VOLATILE function), so once the locks are held the inserts see every nonce committed by the locks'
// previous holders. Lock, insert, purge in this order: a statement that waits (the locks; an insert's ON
// CONFLICT on a row another call's purge holds) only ever waits for a call in a later step, and the purge
// (SKIP LOCKED) waits for none; it uses the batch's earliest `now`, so it forgets nothing a call of the
// batch still counts. `search_path FROM CURRENT`: the function reads the tables of the schema it was
// created in, whatever the caller's path.
// A function's statements run on generic plans, which guess a third of the rows for `expires_at > $now`:
// the per-user reads test expiry in FILTER, not WHERE, so that the plan walks the user's primary-key range
// only (in WHERE, the guess made the planner AND it with a scan of the whole expiry index), and the purge
// first asks min(expires_at), one descent of the expiry index (EXISTS's generic plan scanned the table).
const SCHEMA_V3 = `
CREATE OR REPLACE FUNCTION remember_nonces(p_users text[], p_nonces bytea[], p_expires bigint[], p_now bigint[], p_caps bigint[], p_purge integer)
RETURNS TABLE (k integer, recorded boolean, seen boolean, soonest bigint)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(${LOCK_NAMESPACE}, h) FROM (SELECT DISTINCT hashtext(u) AS h FROM unnest(p_users) AS u ORDER BY 1) AS keys;
  FOR i IN 1 .. coalesce(array_length(p_users, 1), 0) LOOP
    k := i;
    seen := NULL;
    soonest := NULL;
    INSERT INTO nonces (user_id, nonce, expires_at) SELECT p_users[i], p_nonces[i], p_expires[i]
      WHERE NOT EXISTS (SELECT 1 FROM nonces n WHERE n.user_id = p_users[i] AND n.nonce = p_nonces[i] AND n.expires_at > p_now[i])
        AND (p_caps[i] IS NULL
          OR (SELECT count(*) FILTER (WHERE n.expires_at > p_now[i]) FROM nonces n WHERE n.user_id = p_users[i]) < p_caps[i])
      ON CONFLICT (user_id, nonce) DO UPDATE SET expires_at = excluded.expires_at;
    recorded := FOUND;
    IF NOT recorded THEN
      SELECT bool_or(n.nonce = p_nonces[i]) FILTER (WHERE n.expires_at > p_now[i]), min(n.expires_at) FILTER (WHERE n.expires_at > p_now[i])
        INTO seen, soonest FROM nonces n WHERE n.user_id = p_users[i];
    END IF;
    RETURN NEXT;
  END LOOP;
  IF (SELECT min(expires_at) FROM nonces) <= (SELECT min(x) FROM unnest(p_now) AS x) THEN
    DELETE FROM nonces WHERE ctid = ANY (ARRAY (
      SELECT ctid FROM nonces WHERE expires_at <= (SELECT min(x) FROM unnest(p_now) AS x)
      ORDER BY expires_at LIMIT p_purge FOR UPDATE SKIP LOCKED));
  END IF;
END
$fn$;
`;

// v3 → v4: stream positions (stream-records.ts), each sender's SSRC and ROC for every instance's key messages.
const SCHEMA_V4 = `
CREATE TABLE stream_positions (
  service_id text COLLATE "C" NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  ssrc       bigint NOT NULL CHECK (ssrc BETWEEN 0 AND 4294967295),
  roc        bigint NOT NULL CHECK (roc BETWEEN 0 AND 4294967295),
  expires_at bigint NOT NULL,
  PRIMARY KEY (service_id, ssrc)
);
`;

/** The migrations from version v to v + 1, by v. */
const MIGRATIONS: Record<number, string> = { 1: SCHEMA_V2, 2: SCHEMA_V3, 3: SCHEMA_V4 };

/**
 * Creates the schema (in `schema`, created if absent, or else the connection's search_path) or checks its
 * version, on one connection of the pool, in one transaction.
 */
export async function ensureSchema(client: pg.PoolClient, schema: string | undefined): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, 0)", [LOCK_NAMESPACE]);
    const encoding = (await client.query<{ server_encoding: string }>("SHOW server_encoding")).rows[0]?.server_encoding;
    if (encoding !== "UTF8") throw new MbmsError("ERR_STORE", `the database encoding is ${encoding}, not UTF8`);
    if (schema !== undefined) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(`SET LOCAL search_path TO "${schema}"`);
    }
    const exists = (await client.query("SELECT to_regclass('schema_version') IS NOT NULL AS e")).rows[0]?.e === true;
    if (!exists) {
      await client.query(SCHEMA_V1 + SCHEMA_V2 + SCHEMA_V3 + SCHEMA_V4);
      await client.query("INSERT INTO schema_version (id, version) VALUES (1, $1)", [POSTGRES_SCHEMA_VERSION]);
    } else {
      let v = (await client.query<{ version: number }>("SELECT version FROM schema_version WHERE id = 1")).rows[0]?.version;
      if (v === undefined || (v !== POSTGRES_SCHEMA_VERSION && MIGRATIONS[v] === undefined)) {
        throw new MbmsError("ERR_STORE", `schema version ${v ?? "(none)"} is not this code's ${POSTGRES_SCHEMA_VERSION}`);
      }
      if (v !== POSTGRES_SCHEMA_VERSION) {
        for (; v < POSTGRES_SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]!);
        await client.query("UPDATE schema_version SET version = $1 WHERE id = 1", [POSTGRES_SCHEMA_VERSION]);
      }
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
