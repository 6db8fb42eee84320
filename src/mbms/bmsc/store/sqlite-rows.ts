// Rows of the SQLite store's tables as better-sqlite3 returns them, and their conversion to KeyStore
// records: BLOBs are copied to plain Uint8Arrays and the driver's Buffers zeroed. The PostgreSQL store's
// tables have the same columns and pg returns bytea as Buffers too, so it converts its rows here as well.
import type { ServiceRecord, TekRand2State, TgkRecord } from "./types.js";

export interface UserRow { user_id: string; kek: Buffer; created_at: number; disabled: number }
export interface ServiceRow { service_id: string; csb_id: number; cs_id: number; srtp_profile: string; tek_rand: Buffer; next_tgk_id: number; tek_scheme: string | null }
export interface TgkRow { service_id: string; tgk_id: number; tgk: Buffer; valid_from: number; expires_at: number }
export interface Rand2Row { service_id: string; current: Buffer; current_start: number; previous: Buffer | null; previous_start: number | null }

/** A plain Uint8Array copy of a BLOB that better-sqlite3 returned; the Buffer is zeroed. */
export function fromBlob(b: Buffer): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  b.fill(0);
  return out;
}

export function serviceRecord(r: ServiceRow): ServiceRecord {
  return {
    serviceId: r.service_id, csbId: r.csb_id, csId: r.cs_id, srtpProfile: r.srtp_profile,
    tekRand: fromBlob(r.tek_rand), nextTgkId: r.next_tgk_id, ...(r.tek_scheme !== null ? { tekScheme: r.tek_scheme } : {}),
  };
}

export function tgkRecord(r: TgkRow): TgkRecord {
  return { serviceId: r.service_id, tgkId: r.tgk_id, tgk: fromBlob(r.tgk), validFrom: r.valid_from, expiresAt: r.expires_at };
}

export function rand2State(r: Rand2Row): TekRand2State {
  return {
    serviceId: r.service_id, current: fromBlob(r.current), currentStart: r.current_start,
    previous: r.previous && fromBlob(r.previous), previousStart: r.previous_start,
  };
}
