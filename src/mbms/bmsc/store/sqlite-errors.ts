// The SQLite store's errors (sqlite-store.ts): no SqliteError leaves the store, and no bound value (a key,
// a nonce) is echoed — constraint failures become ERR_DUPLICATE / ERR_NOT_FOUND, anything else ERR_STORE
// with the SQLite result code only.
import { MbmsError } from "../../errors.js";

const sqliteCode = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
};

/** Turns anything a backend call threw into an MbmsError without echoing bound values. */
export function storeError(e: unknown, what: string): MbmsError {
  if (e instanceof MbmsError) return e;
  const code = sqliteCode(e);
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") {
    return new MbmsError("ERR_DUPLICATE", `${what}: already exists`);
  }
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return new MbmsError("ERR_NOT_FOUND", `${what}: no such service`);
  if (code !== undefined) return new MbmsError("ERR_STORE", `${what} failed (${code})`);
  // better-sqlite3's own TypeErrors/RangeErrors (e.g. the directory does not exist, the database is closed)
  // name paths and states, never bound values; keep only the class to be safe.
  return new MbmsError("ERR_STORE", `${what} failed (${e instanceof Error ? e.name : "unknown error"})`);
}
