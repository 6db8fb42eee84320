// The BM-SC's persistent state: the KeyStore interface and its backends. SqliteKeyStore (embedded, one
// file, several processes on one host) is the default; MemoryKeyStore is for tests and throwaway runs;
// PostgresKeyStore (an AsyncKeyStore) is the shared server database for BM-SC instances on several hosts.
export type {
  KeyStore, ListOptions, NewService, NewUser, NonceResult, RotateResult, ServiceRecord, TekRand2State, TgkRecord, UserRecord,
  UserUpdate,
} from "./types.js";
export { MAX_TGK_ID } from "./types.js";
export type { Lease } from "./lease.js";
export { wipeKeyRequestRead, type KeyRequestRead } from "./key-request-read.js";
export { asyncStore, isAsyncKeyStore, toAsyncStore, type AsyncKeyStore } from "./async-store.js";
export { MemoryKeyStore } from "./memory-store.js";
export {
  POSTGRES_SCHEMA_VERSION, PostgresKeyStore, openPostgresKeyStore, type PostgresKeyStoreOptions,
} from "./postgres-store.js";
export { SQLITE_SCHEMA_VERSION, SqliteKeyStore, type SqliteKeyStoreOptions } from "./sqlite-store.js";

import type { KeyStore } from "./types.js";
import { SqliteKeyStore, type SqliteKeyStoreOptions } from "./sqlite-store.js";

/** The default store: an SQLite file at `path` (created with its schema if absent). */
export const openKeyStore = (path: string, options?: SqliteKeyStoreOptions): KeyStore => new SqliteKeyStore(path, options);
