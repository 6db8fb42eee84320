// Typings for native/libsrtp/index.js (Node-API binding of the system libsrtp2).

export type SrtpProfile =
  | "AES_CM_128_HMAC_SHA1_80"
  | "AES_CM_128_HMAC_SHA1_32"
  | "AES_256_CM_HMAC_SHA1_80"
  | "AES_256_CM_HMAC_SHA1_32";

export interface SrtpMasterKey {
  /** Master key || master salt: 30 bytes (AES-128) or 46 bytes (AES-256). */
  key: Uint8Array;
  /** MKI; either every key has one (all the same length, 1..128 bytes) or none does. */
  mki?: Uint8Array;
}

export interface SrtpPolicy {
  profile: SrtpProfile;
  direction: "inbound" | "outbound";
  /** A specific SSRC (ssrc_specific); omitted = any inbound / any outbound SSRC. */
  ssrc?: number;
  /** 1..16 keys; several keys need MKIs. */
  keys: SrtpMasterKey[];
  /** Replay window (libsrtp: 0 = default 128, else 64..32767). */
  windowSize?: number;
  /** Allow re-sending a packet with an already-used sequence number (outbound). */
  allowRepeatTx?: boolean;
}

/**
 * Errors thrown: libsrtp failures have `code` "srtp_err_status_<name>" and numeric `status`;
 * too little spare capacity has code "ERR_CAPACITY"; bad arguments are TypeErrors with code
 * "ERR_INVALID_ARG"; any method but close() after close() throws code "ERR_CLOSED".
 */
export interface SrtpError extends Error {
  code: string;
  status?: number;
}

/** One libsrtp session (srtp_t). All packet methods work in place and return the new length. */
export class Session {
  constructor(policy: SrtpPolicy);
  /** RTP -> SRTP in buf[0..len); needs buf.length >= len + 144. mkiIndex selects the key (MKI mode). */
  protect(buf: Uint8Array, len: number, mkiIndex?: number): number;
  /** SRTP -> RTP in place (MKI, if any, is looked up among the session's keys). */
  unprotect(buf: Uint8Array, len: number): number;
  /** RTCP -> SRTCP in place; needs buf.length >= len + 148. */
  protectRtcp(buf: Uint8Array, len: number, mkiIndex?: number): number;
  /** SRTCP -> RTCP in place. */
  unprotectRtcp(buf: Uint8Array, len: number): number;
  /** srtp_set_stream_roc: the stream must exist (ssrc given in the policy, or a packet already seen). */
  setRoc(ssrc: number, roc: number): void;
  /** srtp_get_stream_roc. */
  getRoc(ssrc: number): number;
  /** srtp_dealloc; idempotent. Other methods throw "ERR_CLOSED" afterwards. */
  close(): void;
}

export function createSession(policy: SrtpPolicy): Session;
export function version(): string;
export const SRTP_MAX_TRAILER_LEN: 144;
export const SRTCP_MAX_TRAILER_LEN: 148;
