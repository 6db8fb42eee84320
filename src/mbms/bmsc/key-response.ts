// What SessionManager.keyResponse answers a key request with, and what it takes besides the user and service.
import type { KeyRequestRead } from "./store/index.js";

export interface KeyResponse {
  /** The MIKEY key message (application/mikey). */
  body: Uint8Array;
  /** The retrieval window for the next re-key request: [rekeyFrom, rekeyFrom + rekeyWindow). */
  rekeyFrom: number;
  rekeyWindow: number;
  /** TGK-IDs carried, current first. */
  tgkIds: number[];
}

export interface KeyResponseOptions {
  /** The user holds TGKs of the service (a re-key): no TEK_RAND in the message. */
  update?: boolean;
  /** What the caller already read for the request (store.readKeyRequest): no second read. Wiped once answered. */
  read?: KeyRequestRead;
}
