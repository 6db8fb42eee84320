// The PostgreSQL store's two statements on the path of every key request (postgres-store.ts), each for a
// batch of concurrent calls (coalescer.ts) in one round trip, sent as named (prepared) statements so that
// the server parses and plans them once per connection: readKeyRequest (per call, the user, its
// subscription, the service and its TGKs: one row per TGK, or one row when there is none, the user's and
// service's columns repeated) and rememberNonce (the schema's remember_nonces function, postgres-schema.ts).
import type pg from "pg";
import { MbmsError } from "../../errors.js";
import type { KeyRequestRead } from "./key-request-read.js";
import { fromBlob, serviceRecord, tgkRecord, type ServiceRow, type UserRow } from "./sqlite-rows.js";
import { RECORDED, REPLAYED, type NonceResult, type TgkRecord } from "./types.js";

/** How the key-request path's calls are batched (coalescer.ts). */
export interface BatchOptions {
  /** Batches of each kind out at once before calls wait to leave together (default 4; at most the pool's size is useful). */
  batchesInFlight?: number;
  /** Calls per batch at most (default 128). */
  maxBatch?: number;
}

export const DEFAULT_BATCHES_IN_FLIGHT = 4;
export const DEFAULT_MAX_BATCH = 128;

export function checkBatchOptions({ batchesInFlight, maxBatch }: BatchOptions): void {
  for (const [name, v] of [["batchesInFlight", batchesInFlight], ["maxBatch", maxBatch]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 1024)) throw new MbmsError("ERR_ARGUMENT", `${name} must be an integer in 1..1024`);
  }
}

export interface ReadCall { userId: string; serviceId: string }
export interface NonceCall { userId: string; nonce: Uint8Array; expiresAt: number; now: number; maxPerUser: number | null }

const READ_KEY_REQUESTS = {
  name: "mbms_read_key_requests",
  text: `SELECT q.k, u.user_id, u.kek, u.created_at, u.disabled,
      EXISTS (SELECT 1 FROM subscriptions x WHERE x.user_id = q.user_id COLLATE "C" AND x.service_id = q.service_id COLLATE "C") AS subscribed,
      s.service_id, s.csb_id, s.cs_id, s.srtp_profile, s.tek_rand, s.next_tgk_id, s.tek_scheme,
      t.tgk_id, t.tgk, t.valid_from, t.expires_at
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q (user_id, service_id, k)
    LEFT JOIN users u ON u.user_id = q.user_id COLLATE "C"
    LEFT JOIN services s ON s.service_id = q.service_id COLLATE "C"
    LEFT JOIN tgks t ON t.service_id = s.service_id
    ORDER BY q.k, t.expires_at, t.tgk_id`,
};

const REMEMBER_NONCES = {
  name: "mbms_remember_nonces",
  text: "SELECT k, recorded, seen, soonest FROM remember_nonces($1::text[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[], $6)",
};

type ReadRow = Partial<UserRow> & Partial<ServiceRow> & {
  k: number; subscribed: boolean; tgk_id: number | null; tgk: Buffer | null; valid_from: number; expires_at: number;
};

/** One call's read from its rows; every key Buffer the driver returned is zeroed (the repeated ones too). */
function keyRequestRead(rows: ReadRow[]): KeyRequestRead {
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

type Run = (config: pg.QueryConfig, values: unknown[]) => Promise<pg.QueryResult>;

export async function readKeyRequests(run: Run, calls: ReadCall[]): Promise<KeyRequestRead[]> {
  const { rows } = await run(READ_KEY_REQUESTS, [calls.map((c) => c.userId), calls.map((c) => c.serviceId)]);
  const byCall: ReadRow[][] = calls.map(() => []);
  for (const r of rows as ReadRow[]) byCall[r.k - 1]!.push(r);
  return byCall.map(keyRequestRead);
}

export async function rememberNonces(run: Run, calls: NonceCall[], purgeBatch: number): Promise<NonceResult[]> {
  const { rows } = await run(REMEMBER_NONCES, [
    calls.map((c) => c.userId), calls.map((c) => c.nonce), calls.map((c) => c.expiresAt), calls.map((c) => c.now),
    calls.map((c) => c.maxPerUser), purgeBatch,
  ]);
  const out: NonceResult[] = new Array(calls.length);
  for (const r of rows as { k: number; recorded: boolean; seen: boolean | null; soonest: number | null }[]) {
    out[r.k - 1] = r.recorded ? RECORDED : r.seen ? REPLAYED : { recorded: false, reason: "full", retryAt: r.soonest! };
  }
  return out;
}
