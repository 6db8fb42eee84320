// The store as the session manager and the key server call it: every KeyStore method returning a promise.
// A backend on the far side of a network (PostgreSQL, several BM-SC instances on one database) implements
// AsyncKeyStore directly; the in-process backends (MemoryKeyStore, SqliteKeyStore) keep their synchronous
// API and are lifted with `asyncStore`. Same methods, same semantics, same error codes (types.ts): a
// synchronous failure becomes a rejection, never a throw out of the call.
//
// Both kinds have the same method names, so an AsyncKeyStore says what it is: `async: true` (a readonly
// property; a class implementing AsyncKeyStore declares `readonly async = true`). `toAsyncStore` takes
// either kind — what SessionManager's `store` option does — and never lifts an AsyncKeyStore twice.
//
// One call more than KeyStore: readKeyRequest, what a key request reads (key-request-read.ts) — for a
// network store one round trip instead of four; asyncStore composes it from the KeyStore's own calls.
import { composeKeyRequestRead, type KeyRequestRead } from "./key-request-read.js";
import type { KeyStore } from "./types.js";

export type AsyncKeyStore = {
  readonly [K in keyof KeyStore]: KeyStore[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
} & {
  /** The mark that tells an AsyncKeyStore from a KeyStore (whose methods have the same names). */
  readonly async: true;
  /** getUser, isSubscribed, getService and listTgks of one key request, in one call. */
  readKeyRequest(userId: string, serviceId: string): Promise<KeyRequestRead>;
};

/** Every KeyStore method, once: `satisfies` below fails to compile if one is missing or misspelt. */
const METHODS = [
  "addUser", "addUsers", "getUser", "listUserIds", "setUserDisabled", "updateUsers", "removeUser",
  "listSubscriptions", "isSubscribed",
  "addService", "getService", "listServiceIds", "removeService", "allocateTgkId",
  "addTgk", "getTgk", "listTgks", "deleteExpiredTgks", "endTgks",
  "getTekRand2", "rotateTekRand2",
  "rememberNonce", "purgeNonces", "countNonces",
  "acquireLease", "releaseLease", "countLeases",
  "putStreamPosition", "listStreamPositions", "deleteStreamPosition",
  "close",
] as const satisfies readonly (keyof KeyStore)[];
type Missing = Exclude<keyof KeyStore, (typeof METHODS)[number]>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

/** A synchronous store seen through the asynchronous interface (each call still runs at once, in order). */
export function asyncStore(store: KeyStore): AsyncKeyStore {
  const lifted: Record<string, unknown> = { async: true };
  const lift = (name: string, call: (...args: unknown[]) => unknown) => {
    lifted[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve(call(...args));
      } catch (e) {
        return Promise.reject(e);
      }
    };
  };
  for (const name of METHODS) {
    const method = store[name] as (...args: unknown[]) => unknown;
    lift(name, (...args) => method.apply(store, args));
  }
  lift("readKeyRequest", (userId, serviceId) => composeKeyRequestRead(store, userId as string, serviceId as string));
  return Object.freeze(lifted) as unknown as AsyncKeyStore;
}

/** Whether `store` is an AsyncKeyStore (carries `async: true`) rather than a synchronous KeyStore. */
export function isAsyncKeyStore(store: KeyStore | AsyncKeyStore): store is AsyncKeyStore {
  return (store as { async?: unknown }).async === true;
}

/** `store` as an AsyncKeyStore: itself when it is one, else lifted with asyncStore. */
export function toAsyncStore(store: KeyStore | AsyncKeyStore): AsyncKeyStore {
  return isAsyncKeyStore(store) ? store : asyncStore(store);
}
