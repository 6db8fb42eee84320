// What the key server reads for one key request, in one store call: the user (its KEK authenticates the
// request and wraps the TGKs), whether it is subscribed to the service, the service (CSB-ID, TEK_RAND) and
// the service's TGKs. A network store answers it in one round trip (PostgresKeyStore: one statement, where
// the four separate reads were four); an in-process store composes its own calls (composeKeyRequestRead).
// The four parts need not be one snapshot: each is what a separate read at about that time would return.
import type { KeyStore, ServiceRecord, TgkRecord, UserRecord } from "./types.js";

export interface KeyRequestRead {
  /** undefined for an unknown user. */
  readonly user: UserRecord | undefined;
  readonly subscribed: boolean;
  /** undefined for an unknown service. */
  readonly service: ServiceRecord | undefined;
  /** The service's TGKs as listTgks returns them: soonest expiry first, expired ones included. */
  readonly tgks: TgkRecord[];
}

/** readKeyRequest from the KeyStore calls it stands for (checks and errors theirs). */
export function composeKeyRequestRead(store: KeyStore, userId: string, serviceId: string): KeyRequestRead {
  const user = store.getUser(userId);
  try {
    return { user, subscribed: store.isSubscribed(userId, serviceId), service: store.getService(serviceId), tgks: store.listTgks(serviceId) };
  } catch (e) {
    user?.kek.fill(0);
    throw e;
  }
}

/** Zeroes every key of a read (KEK, TEK_RAND, TGKs) once the request is answered. */
export function wipeKeyRequestRead(read: KeyRequestRead): void {
  read.user?.kek.fill(0);
  read.service?.tekRand.fill(0);
  for (const t of read.tgks) t.tgk.fill(0);
}
