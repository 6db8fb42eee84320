// The SQLite store's statements (sqlite-store.ts), prepared once per connection.
import type Database from "better-sqlite3";

/** A prepared statement, under a name the declaration files can use. */
export interface Statement extends Database.Statement<unknown[], unknown> {}

export function prepareAll(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    addUser: p("INSERT INTO users (user_id, kek, created_at, disabled) VALUES (?, ?, ?, ?)"),
    getUser: p("SELECT user_id, kek, created_at, disabled FROM users WHERE user_id = ?"),
    listUsers: p("SELECT user_id FROM users ORDER BY user_id LIMIT ?").pluck(),
    listUsersAfter: p("SELECT user_id FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?").pluck(),
    userExists: p("SELECT 1 FROM users WHERE user_id = ?").pluck(),
    setKek: p("UPDATE users SET kek = ? WHERE user_id = ?"),
    setDisabled: p("UPDATE users SET disabled = ? WHERE user_id = ?"),
    removeUser: p("DELETE FROM users WHERE user_id = ?"),
    addSubscription: p("INSERT INTO subscriptions (user_id, service_id) VALUES (?, ?)"),
    clearSubscriptions: p("DELETE FROM subscriptions WHERE user_id = ?"),
    listSubscriptions: p("SELECT service_id FROM subscriptions WHERE user_id = ? ORDER BY service_id").pluck(),
    isSubscribed: p("SELECT 1 FROM subscriptions WHERE user_id = ? AND service_id = ?").pluck(),
    addService: p(
      "INSERT INTO services (service_id, csb_id, cs_id, srtp_profile, tek_rand, next_tgk_id, tek_scheme) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    getService: p("SELECT service_id, csb_id, cs_id, srtp_profile, tek_rand, next_tgk_id, tek_scheme FROM services WHERE service_id = ?"),
    nextTgkId: p("SELECT next_tgk_id FROM services WHERE service_id = ?").pluck(),
    setNextTgkId: p("UPDATE services SET next_tgk_id = ? WHERE service_id = ?"),
    countTgks: p("SELECT count(*) FROM tgks WHERE service_id = ?").pluck(),
    tgkExists: p("SELECT 1 FROM tgks WHERE service_id = ? AND tgk_id = ?").pluck(),
    listServices: p("SELECT service_id FROM services ORDER BY service_id").pluck(),
    removeService: p("DELETE FROM services WHERE service_id = ?"),
    serviceExists: p("SELECT 1 FROM services WHERE service_id = ?").pluck(),
    addTgk: p("INSERT INTO tgks (service_id, tgk_id, tgk, valid_from, expires_at) VALUES (?, ?, ?, ?, ?)"),
    getTgk: p("SELECT service_id, tgk_id, tgk, valid_from, expires_at FROM tgks WHERE service_id = ? AND tgk_id = ?"),
    listTgks: p(
      "SELECT service_id, tgk_id, tgk, valid_from, expires_at FROM tgks WHERE service_id = ? ORDER BY expires_at, tgk_id",
    ),
    deleteExpired: p("DELETE FROM tgks WHERE expires_at <= ?"),
    deleteExpiredOf: p("DELETE FROM tgks WHERE expires_at <= ? AND service_id = ?"),
    deleteNotYetValid: p("DELETE FROM tgks WHERE service_id = ? AND valid_from >= ?"),
    endValid: p("UPDATE tgks SET expires_at = ? WHERE service_id = ? AND expires_at > ?"),
    getRand2: p("SELECT service_id, current, current_start, previous, previous_start FROM tek_rand2 WHERE service_id = ?"),
    rotateRand2: p(
      `INSERT INTO tek_rand2 (service_id, current, current_start, previous, previous_start) VALUES (?, ?, ?, NULL, NULL)
       ON CONFLICT (service_id) DO UPDATE SET
         previous = tek_rand2.current, previous_start = tek_rand2.current_start,
         current = excluded.current, current_start = excluded.current_start
       WHERE tek_rand2.current_start < excluded.current_start`,
    ),
    addNonce: p("INSERT INTO nonces (user_id, nonce, expires_at) VALUES (?, ?, ?)"),
    nonceExists: p("SELECT 1 FROM nonces WHERE user_id = ? AND nonce = ?").pluck(),
    countUserNonces: p("SELECT count(*) FROM nonces WHERE user_id = ?").pluck(),
    soonestUserNonce: p("SELECT min(expires_at) FROM nonces WHERE user_id = ?").pluck(),
    countNonces: p("SELECT count(*) FROM nonces").pluck(),
    purgeNonces: p("DELETE FROM nonces WHERE expires_at <= ?"),
    getLease: p("SELECT owner, expires_at AS expiresAt FROM leases WHERE name = ?"),
    setLease: p("INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"),
    releaseLease: p("DELETE FROM leases WHERE name = ? AND owner = ?"),
    countLeases: p("SELECT count(*) FROM leases").pluck(),
    purgeStreams: p("DELETE FROM stream_positions WHERE service_id = ? AND expires_at <= ?"),
    putStream: p(
      `INSERT INTO stream_positions (service_id, ssrc, roc, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (service_id, ssrc) DO UPDATE SET roc = excluded.roc, expires_at = excluded.expires_at`,
    ),
    listStreams: p("SELECT ssrc, roc FROM stream_positions WHERE service_id = ? AND expires_at > ? ORDER BY ssrc LIMIT ?"),
    deleteStream: p("DELETE FROM stream_positions WHERE service_id = ? AND ssrc = ?"),
  };
}

export type Statements = ReturnType<typeof prepareAll>;
