// The PostgreSQL store's two statements on the path of every key request (postgres-store.ts), each one
// round trip, sent as named (prepared) statements so that the server parses and plans them once per
// connection: readKeyRequest (the user, its subscription, the service and its TGKs: one row per TGK, or one
// row when there is none, the user's and service's columns repeated) and rememberNonce (the schema's
// remember_nonce function, postgres-schema.ts).
import type pg from "pg";
import type { KeyRequestRead } from "./key-request-read.js";
import { fromBlob, serviceRecord, tgkRecord, type ServiceRow, type UserRow } from "./sqlite-rows.js";
import { RECORDED, REPLAYED, type NonceResult, type TgkRecord } from "./types.js";

export const READ_KEY_REQUEST: pg.QueryConfig = {
  name: "mbms_read_key_request",
  text: `SELECT u.user_id, u.kek, u.created_at, u.disabled,
      EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $1 AND service_id = $2) AS subscribed,
      s.service_id, s.csb_id, s.cs_id, s.srtp_profile, s.tek_rand, s.next_tgk_id, s.tek_scheme,
      t.tgk_id, t.tgk, t.valid_from, t.expires_at
    FROM (VALUES (1)) AS one (x)
    LEFT JOIN users u ON u.user_id = $1
    LEFT JOIN services s ON s.service_id = $2
    LEFT JOIN tgks t ON t.service_id = s.service_id
    ORDER BY t.expires_at, t.tgk_id`,
};

type ReadRow = Partial<UserRow> & Partial<ServiceRow> & { subscribed: boolean; tgk_id: number | null; tgk: Buffer | null; valid_from: number; expires_at: number };

/** The read from its rows; every key Buffer the driver returned is zeroed (the repeated ones too). */
export function keyRequestRead(rows: ReadRow[]): KeyRequestRead {
  const first = rows[0]!;
  const user = first.kek ? { userId: first.user_id!, kek: fromBlob(first.kek), createdAt: first.created_at!, disabled: Boolean(first.disabled) } : undefined;
  const service = first.tek_rand ? serviceRecord(first as ServiceRow) : undefined;
  const tgks: TgkRecord[] = [];
  for (const r of rows) {
    r.kek?.fill(0);
    r.tek_rand?.fill(0);
    if (r.tgk) tgks.push(tgkRecord({ service_id: first.service_id!, tgk_id: r.tgk_id!, tgk: r.tgk, valid_from: r.valid_from, expires_at: r.expires_at }));
  }
  return { user, subscribed: first.subscribed, service, tgks };
}

export const REMEMBER_NONCE = "mbms_remember_nonce";
export const REMEMBER_NONCE_SQL = "SELECT recorded, seen, soonest FROM remember_nonce($1, $2, $3, $4, $5, $6)";

export function nonceResult(r: { recorded: boolean; seen: boolean | null; soonest: number | null }): NonceResult {
  if (r.recorded) return RECORDED;
  return r.seen ? REPLAYED : { recorded: false, reason: "full", retryAt: r.soonest! };
}
