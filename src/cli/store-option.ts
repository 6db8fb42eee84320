/**
 * `--store` of `send` and `keyserver`: which key store the BM-SC runs on. Absent: in memory; a
 * postgres:// or postgresql:// URL: the PostgreSQL store (openPostgresKeyStore, shared by BM-SC instances);
 * anything else: an SQLite file. A PostgreSQL URL may hold a password (user:password@, ?password=): what
 * the CLI prints names the store by `label`, which redacts it, and never the URL as given.
 */
import { MbmsError } from "../mbms/errors.js";
import { MemoryKeyStore, SqliteKeyStore, openPostgresKeyStore, type AsyncKeyStore, type KeyStore } from "../mbms/bmsc/index.js";
import { UsageError } from "./usage-error.js";

export type StoreTarget =
  | { kind: "memory"; label: string }
  | { kind: "sqlite"; path: string; label: string }
  | { kind: "postgres"; url: string; label: string };

const POSTGRES_SCHEMES = ["postgres:", "postgresql:"];
/** Query parameters of a libpq / pg URL that may carry a secret. */
const SECRET_PARAMS = new Set(["password", "sslpassword"]);
const REDACTED = "***";

/** A connection attempt gives up after this long (pg's default waits for ever on a silent host). */
export const CONNECT_TIMEOUT_MS = 10_000;

/** `url` with the password (of the user part and of the query) replaced by ***; throws UsageError when it is no URL. */
export function redactPostgresUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The message of URL's TypeError quotes the input: not passed on.
    throw new UsageError("--store: not a valid postgres:// URL");
  }
  if (u.password !== "") u.password = REDACTED;
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.has(k.toLowerCase())) u.searchParams.set(k, REDACTED);
  return u.href;
}

/** The store `--store value` names (value undefined: memory). */
export function storeTarget(value: string | undefined): StoreTarget {
  if (value === undefined) return { kind: "memory", label: "memory" };
  if (value === "") throw new UsageError("--store: expected a file or a postgres:// URL");
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0].toLowerCase();
  if (scheme !== undefined && POSTGRES_SCHEMES.includes(scheme)) return { kind: "postgres", url: value, label: `postgres ${redactPostgresUrl(value)}` };
  return { kind: "sqlite", path: value, label: `sqlite ${value}` };
}

/** Opens the store; a PostgreSQL store that cannot be opened is an MbmsError naming the redacted URL. */
export async function openStoreTarget(t: StoreTarget): Promise<KeyStore | AsyncKeyStore> {
  if (t.kind === "memory") return new MemoryKeyStore();
  if (t.kind === "sqlite") return new SqliteKeyStore(t.path);
  try {
    return await openPostgresKeyStore({ connectionString: t.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  } catch (e) {
    // openPostgresKeyStore's errors carry a code and no value (postgres-errors.ts); anything else is not quoted.
    const code = e instanceof MbmsError ? e.code : "ERR_STORE";
    const why = e instanceof MbmsError ? e.message.slice(`${code}: `.length) : "opening the key store failed";
    throw new MbmsError(code, `key store ${t.label}: ${why}`);
  }
}
