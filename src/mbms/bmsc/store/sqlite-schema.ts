// The SQLite store's schema, versioned: a new file gets version 1 and every migration after it; a file of
// an older version is migrated in one IMMEDIATE transaction; one written by a newer schema is refused.
import type Database from "better-sqlite3";
import { MbmsError } from "../../errors.js";

export const SQLITE_SCHEMA_VERSION = 5;

const SCHEMA_V1 = `
CREATE TABLE users (
  user_id    TEXT PRIMARY KEY NOT NULL,
  kek        BLOB NOT NULL CHECK (length(kek) IN (16, 32)),
  created_at INTEGER NOT NULL,
  disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) WITHOUT ROWID;
CREATE TABLE services (
  service_id   TEXT PRIMARY KEY NOT NULL,
  csb_id       INTEGER NOT NULL CHECK (csb_id BETWEEN 0 AND 4294967295),
  cs_id        INTEGER NOT NULL CHECK (cs_id BETWEEN 0 AND 255),
  srtp_profile TEXT NOT NULL,
  tek_rand     BLOB NOT NULL CHECK (length(tek_rand) BETWEEN 16 AND 255),
  next_tgk_id  INTEGER NOT NULL CHECK (next_tgk_id BETWEEN 1 AND 4294967295)
) WITHOUT ROWID;
CREATE TABLE tgks (
  service_id TEXT NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  tgk_id     INTEGER NOT NULL CHECK (tgk_id BETWEEN 1 AND 4294967295),
  tgk        BLOB NOT NULL CHECK (length(tgk) IN (16, 32)),
  valid_from INTEGER NOT NULL,
  expires_at INTEGER NOT NULL CHECK (expires_at > valid_from),
  PRIMARY KEY (service_id, tgk_id)
) WITHOUT ROWID;
CREATE INDEX tgks_by_expiry ON tgks (expires_at);
CREATE TABLE tek_rand2 (
  service_id     TEXT PRIMARY KEY NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  current        BLOB NOT NULL CHECK (length(current) BETWEEN 8 AND 16),
  current_start  INTEGER NOT NULL,
  previous       BLOB CHECK (previous IS NULL OR length(previous) BETWEEN 8 AND 16),
  previous_start INTEGER
) WITHOUT ROWID;
CREATE TABLE nonces (
  user_id    TEXT NOT NULL,
  nonce      BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
`;

// v1 → v2: user ↔ service subscriptions. A v1 file gave every user the keys of every service, so its users
// start subscribed to all its services (a config reconciled at start then narrows them).
const SCHEMA_V2 = `
CREATE TABLE subscriptions (
  user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  service_id TEXT NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, service_id)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_service ON subscriptions (service_id);
INSERT INTO subscriptions (user_id, service_id) SELECT u.user_id, s.service_id FROM users u CROSS JOIN services s;
`;

// v2 → v3: each service's TEK scheme (derivation and MKI layout), so that a BM-SC resuming it derives the
// same TEKs; services stored before have none (NULL) and are not checked.
const SCHEMA_V3 = `ALTER TABLE services ADD COLUMN tek_scheme TEXT CHECK (tek_scheme IS NULL OR length(tek_scheme) BETWEEN 1 AND 64);`;

// v3 → v4: leases (lease.ts), e.g. which instance owns a service's schedule. Rows are owned by no service.
export const LEASES_TABLE = `
CREATE TABLE leases (
  name       TEXT PRIMARY KEY NOT NULL,
  owner      TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;`;

// v4 → v5: stream positions (stream-records.ts), each sender's SSRC and ROC for every instance's key messages.
const SCHEMA_V5 = `
CREATE TABLE stream_positions (
  service_id TEXT NOT NULL REFERENCES services (service_id) ON DELETE CASCADE,
  ssrc       INTEGER NOT NULL CHECK (ssrc BETWEEN 0 AND 4294967295),
  roc        INTEGER NOT NULL CHECK (roc BETWEEN 0 AND 4294967295),
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (service_id, ssrc)
) WITHOUT ROWID;`;

/** The step from version v - 1 to v. */
const MIGRATIONS: Record<number, string> = { 2: SCHEMA_V2, 3: SCHEMA_V3, 4: LEASES_TABLE, 5: SCHEMA_V5 };

export function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
    let v = db.prepare("SELECT version FROM schema_version WHERE id = 1").pluck().get() as number | undefined;
    if (v === undefined) {
      db.exec(SCHEMA_V1);
      db.prepare("INSERT INTO schema_version (id, version) VALUES (1, 1)").run();
      v = 1;
    } else if (v > SQLITE_SCHEMA_VERSION) {
      throw new MbmsError("ERR_STORE", `schema version ${v} is newer than this code's ${SQLITE_SCHEMA_VERSION}`);
    }
    for (; v < SQLITE_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v + 1]!);
    db.prepare("UPDATE schema_version SET version = ? WHERE id = 1").run(v);
  }).immediate();
}
