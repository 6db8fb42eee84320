import { MbmsSrtpError } from "../errors.js";

/** Codes of the MBMS key hierarchy. Messages carry lengths and layouts only, never key bytes. */
export type MbmsErrorCode =
  | "ERR_MKI_LAYOUT" // MKI layout out of range, or an MKI of another length than the layout's
  | "ERR_KEY_LENGTH" // TGK or TEK of an unsupported length
  | "ERR_TGK_ID" // TGK-ID out of range for the layout, or the MKI names another TGK
  | "ERR_ARGUMENT" // other malformed input (cs_id, CSB ID, TEK_RAND length, derivation name)
  | "ERR_DUPLICATE" // key store: a user, service or TGK-ID that already exists
  | "ERR_NOT_FOUND" // key store: the user or service named does not exist
  | "ERR_FORBIDDEN" // BM-SC: the user is not subscribed to the service it asks keys for
  | "ERR_STORE" // key store: the backend failed (I/O, busy, closed, schema newer than this code)
  | "ERR_HTTP" // UE key client: network failure or an HTTP error status from the BM-SC (retried when transient)
  | "ERR_UNAUTHORIZED" // UE key client: the BM-SC refused the signed request (401/403)
  | "ERR_PROTOCOL" // UE key client: a 200 response that is not a key message for this user and service
  | "ERR_NOT_OWNER" // BM-SC: another instance owns the service's schedule (a forced rotation or a revocation asked of a non-owner; the message names the owner)
  | "ERR_KEY_INSTALL" // MBMS sender: a TEK could not be installed in its SRTP context (the sender stops)
  | "ERR_SERVICE_PARAMETERS"; // UE: its configured profile, MKI layout or derivation disagrees with the service's key messages

export class MbmsError extends MbmsSrtpError {
  declare readonly code: MbmsErrorCode;
  constructor(code: MbmsErrorCode, message: string) {
    super(code, message);
  }
}
