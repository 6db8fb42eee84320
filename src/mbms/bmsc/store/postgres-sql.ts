// Statements the PostgreSQL store (postgres-store.ts) composes from several queries, on a connection or
// inside its transaction (`q`): key wiping before a delete, subscriptions in bulk, leases (lease.ts) and
// stream positions (stream-records.ts).
import type pg from "pg";
import { leaseAfter, type Lease } from "./lease.js";
import { MAX_LISTED_STREAMS } from "./stream-records.js";

export type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/** Overwrites `columns` with zeros of their length, then deletes the rows; returns how many went. */
export async function wipeAndDelete(q: Query, table: string, columns: string[], where: string, params: unknown[]): Promise<number> {
  await q(`UPDATE ${table} SET ${columns.map((c) => `${c} = decode(repeat('00', length(${c})), 'hex')`).join(", ")} WHERE ${where}`, params);
  return (await q(`DELETE FROM ${table} WHERE ${where}`, params)).rowCount ?? 0;
}

/** Subscribes each users[i] to services[i] (pairs); ERR_NOT_FOUND for an unknown service. */
export async function subscribe(q: Query, users: string[], services: string[]): Promise<void> {
  if (users.length > 0) {
    await q("INSERT INTO subscriptions (user_id, service_id) SELECT * FROM unnest($1::text[], $2::text[])", [users, services]);
  }
}

/** The (user, service) pairs of users' service lists, as two parallel arrays. */
export function pairs(users: readonly { userId: string; services?: readonly string[] }[]): [string[], string[]] {
  const u: string[] = [];
  const s: string[] = [];
  for (const x of users) for (const id of x.services ?? []) u.push(x.userId), s.push(id);
  return [u, s];
}

/**
 * acquireLease in one statement: the upsert's WHERE takes a free or expired lease or renews the caller's.
 * When it fails the conflicting row stays locked by this transaction, so the SELECT reads the holder.
 */
export async function acquireLease(q: Query, name: string, owner: string, ttlMs: number, now: number): Promise<Lease> {
  const won = await q(
    `INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
     WHERE leases.owner = excluded.owner OR leases.expires_at <= $4
     RETURNING owner`,
    [name, owner, now + ttlMs, now],
  );
  if (won.rows[0]) return { name, owner, expiresAt: now + ttlMs, acquired: true };
  const r = await q("SELECT owner, expires_at AS \"expiresAt\" FROM leases WHERE name = $1", [name]);
  return leaseAfter(r.rows[0] as { owner: string; expiresAt: number }, name, owner, ttlMs, now);
}

export async function releaseLease(q: Query, name: string, owner: string): Promise<boolean> {
  return ((await q("DELETE FROM leases WHERE name = $1 AND owner = $2", [name, owner])).rowCount ?? 0) > 0;
}

/** putStreamPosition in one statement: the service's expired records go, the stream's is replaced. */
export async function putStreamPosition(q: Query, serviceId: string, ssrc: number, roc: number, ttlMs: number, now: number): Promise<void> {
  await q(
    `WITH purged AS (DELETE FROM stream_positions WHERE service_id = $1 AND expires_at <= $5 AND ssrc <> $2)
     INSERT INTO stream_positions (service_id, ssrc, roc, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (service_id, ssrc) DO UPDATE SET roc = excluded.roc, expires_at = excluded.expires_at`,
    [serviceId, ssrc, roc, now + ttlMs, now],
  );
}

export const LIST_STREAMS = `SELECT ssrc, roc FROM stream_positions WHERE service_id = $1 AND expires_at > $2 ORDER BY ssrc LIMIT ${MAX_LISTED_STREAMS}`;
export const DELETE_STREAM = "DELETE FROM stream_positions WHERE service_id = $1 AND ssrc = $2";
