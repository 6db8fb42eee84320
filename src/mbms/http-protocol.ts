/**
 * The BM-SC key server's HTTP protocol (re-key requests, docs/architecture.md §1), shared by the server
 * (src/mbms/bmsc/key-server.ts) and the UE key client (src/mbms/ue/). Pure: no Node APIs, runs in browsers.
 *
 * Request: `POST /mbms/v1/keys`, `content-type: application/json`, body
 *   `{"serviceId": string, "have": number[]}` (the TGK-IDs the UE already holds), at most 4 KiB.
 * Authentication headers:
 *   x-mbms-user:    the user id
 *   x-mbms-time:    ms since the Unix epoch, decimal
 *   x-mbms-nonce:   32 lowercase hex chars (16 random bytes from crypto.getRandomValues)
 *   authorization:  `MBMS-HMAC-SHA1 <40 hex>`, where the MAC is
 *       HMAC-SHA1(K_req, method "\n" path "\n" user "\n" time "\n" nonce "\n" body)
 *   over the UTF-8 bytes of that string (the body as sent, byte for byte), and
 *       K_req = MIKEY PRF(KEK, label, 20 bytes)  (RFC 3830 §4.1.2)
 *   with label = the 29 ASCII bytes "mbms-srtp http request key v1" (no terminator). K_req is
 *   separated from the MIKEY transport keys derived from the same KEK, whose labels start with a
 *   RFC 3830 constant and cs_id 0xFF; no RFC 3830 label equals this ASCII string.
 * Responses:
 *   200  content-type: application/mikey, body = a MIKEY PSK message (buildMbmsKeyMessage) with the
 *        service's current TGK and every future TGK already generated; headers x-mbms-rekey-from
 *        (ms since epoch) and x-mbms-rekey-window (ms): the UE comes back at a time of its choosing
 *        in [from, from + window).
 *   400 {"error":"bad_request"}   malformed JSON or headers
 *   401 {"error":"unauthorized"}  any authentication failure (same body for every cause)
 *   403 {"error":"forbidden"}     authenticated, but the user is not subscribed to the service
 *   404 {"error":"not_found"}     unknown service or path
 *   405 {"error":"method_not_allowed"}
 *   408 {"error":"request_timeout"}  headers or body not received in time (then the socket is closed)
 *   413 {"error":"too_large"}     body over 4 KiB
 *   429 {"error":"too_many_requests"}  the user's request rate or live-nonce allowance is used up; the
 *        retry-after header says how many seconds to wait (authentic requests only: see request-auth.ts)
 * CORS, when the server lists web origins (src/mbms/bmsc/cors.ts): `OPTIONS /mbms/v1/keys` from a listed
 * origin → 204 with the access-control headers, from another → 403 {"error":"forbidden"}.
 */
import type { CryptoCore } from "../wasm/core.js";
import { mikeyPrf } from "../mikey/prf.js";
import { defaultCore } from "../wasm/default-core.js";
import { MbmsError } from "./errors.js";

export const KEYS_PATH = "/mbms/v1/keys";
export const KEYS_METHOD = "POST";
export const MAX_BODY_BYTES = 4096;
/** Default tolerated clock skew between UE and BM-SC, either direction. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

export const HEADER_USER = "x-mbms-user";
export const HEADER_TIME = "x-mbms-time";
export const HEADER_NONCE = "x-mbms-nonce";
export const HEADER_AUTHORIZATION = "authorization";
export const HEADER_REKEY_FROM = "x-mbms-rekey-from";
export const HEADER_REKEY_WINDOW = "x-mbms-rekey-window";
export const AUTH_SCHEME = "MBMS-HMAC-SHA1";
export const CONTENT_TYPE_MIKEY = "application/mikey";
export const CONTENT_TYPE_JSON = "application/json";

export const NONCE_BYTES = 16;
export const NONCE_HEX_LENGTH = 32;
export const MAC_BYTES = 20;

/** The label of K_req (ASCII, 29 bytes). */
export const REQUEST_KEY_LABEL_TEXT = "mbms-srtp http request key v1";
export const REQUEST_KEY_LABEL: Uint8Array = new TextEncoder().encode(REQUEST_KEY_LABEL_TEXT);

export interface KeyRequestBody {
  serviceId: string;
  /** TGK-IDs the UE holds. */
  have: number[];
}

export type ErrorBodyCode =
  | "bad_request" | "unauthorized" | "forbidden" | "not_found" | "method_not_allowed" | "request_timeout" | "too_large"
  | "too_many_requests" | "internal";
export interface ErrorBody {
  error: ErrorBodyCode;
}

export interface AuthHeaders {
  "x-mbms-user": string;
  "x-mbms-time": string;
  "x-mbms-nonce": string;
  authorization: string;
}

export interface SignRequestParams {
  kek: Uint8Array;
  userId: string;
  method: string;
  path: string;
  /** The body exactly as sent (string → UTF-8). */
  body: string | Uint8Array;
  timeMs: number;
  /** 32 hex chars; default: 16 fresh random bytes. */
  nonce?: string;
}

const utf8 = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

/** Parses lowercase/uppercase hex of an exact byte length; undefined when malformed. */
export function fromHex(hex: string, bytes: number): Uint8Array | undefined {
  if (hex.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** 16 random bytes as 32 hex chars. */
export function newNonce(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

/** K_req = MIKEY PRF(KEK, "mbms-srtp http request key v1", 20). The caller zeroes it after use. */
export function requestAuthKey(kek: Uint8Array, core: CryptoCore = defaultCore()): Uint8Array {
  if (!(kek instanceof Uint8Array) || kek.length === 0) throw new MbmsError("ERR_KEY_LENGTH", "KEK must be a non-empty byte array");
  return mikeyPrf(kek, REQUEST_KEY_LABEL, MAC_BYTES, core);
}

/** The bytes the MAC covers: method \n path \n user \n time \n nonce \n body. */
export function requestMacInput(method: string, path: string, userId: string, time: string, nonce: string, body: string | Uint8Array): Uint8Array {
  const head = utf8.encode(`${method}\n${path}\n${userId}\n${time}\n${nonce}\n`);
  const b = typeof body === "string" ? utf8.encode(body) : body;
  const out = new Uint8Array(head.length + b.length);
  out.set(head, 0);
  out.set(b, head.length);
  return out;
}

/** HMAC-SHA1 under K_req (a slot from core.hmacPool, wiped and released after). */
export function requestMac(kReq: Uint8Array, input: Uint8Array, core: CryptoCore = defaultCore()): Uint8Array {
  const slot = core.hmacPool.acquire();
  try {
    core.setHmacKey(slot, kReq);
    return core.hmacSha1(slot, input);
  } finally {
    core.wipeHmacKey(slot);
    core.hmacPool.release(slot);
  }
}

/** Verifies a received MAC in constant time (false for a MAC of the wrong length). */
export function verifyRequestMac(kReq: Uint8Array, input: Uint8Array, mac: Uint8Array, core: CryptoCore = defaultCore()): boolean {
  const expected = requestMac(kReq, input, core);
  try {
    return mac.length === MAC_BYTES && core.ctEqual(expected, mac);
  } finally {
    expected.fill(0);
  }
}

/**
 * HMAC-SHA1 under K_req = PRF(KEK, label) over `input` (requestMacInput). The one place K_req is derived
 * and used for signing: signRequest (ME mode) and the card's AUTHENTICATE mode F4 (src/mbms/uicc/soft-card.ts)
 * both call it. K_req is zeroed before returning.
 */
export function requestMacFromKek(kek: Uint8Array, input: Uint8Array, core: CryptoCore = defaultCore()): Uint8Array {
  const kReq = requestAuthKey(kek, core);
  try {
    return requestMac(kReq, input, core);
  } finally {
    kReq.fill(0);
  }
}

/** Checks timeMs and the nonce (default: a fresh one); returns the header strings of a request to sign. */
export function requestTimeAndNonce(timeMs: number, nonce?: string): { time: string; nonce: string } {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new MbmsError("ERR_ARGUMENT", "timeMs must be a non-negative integer");
  const n = nonce ?? newNonce();
  if (!/^[0-9a-f]{32}$/.test(n)) throw new MbmsError("ERR_ARGUMENT", "nonce must be 32 lowercase hex chars");
  return { time: String(timeMs), nonce: n };
}

/** The four authentication headers for a computed MAC. */
export function authHeaders(userId: string, time: string, nonce: string, mac: Uint8Array): AuthHeaders {
  if (mac.length !== MAC_BYTES) throw new MbmsError("ERR_ARGUMENT", `a request MAC is ${MAC_BYTES} bytes`);
  return {
    "x-mbms-user": userId,
    "x-mbms-time": time,
    "x-mbms-nonce": nonce,
    authorization: `${AUTH_SCHEME} ${toHex(mac)}`,
  };
}

/** Signs a key request; returns the four authentication headers. */
export function signRequest(p: SignRequestParams, core: CryptoCore = defaultCore()): AuthHeaders {
  const { time, nonce } = requestTimeAndNonce(p.timeMs, p.nonce);
  const mac = requestMacFromKek(p.kek, requestMacInput(p.method, p.path, p.userId, time, nonce, p.body), core);
  try {
    return authHeaders(p.userId, time, nonce, mac);
  } finally {
    mac.fill(0);
  }
}

/** A key request to sign: everything but the user, whom the signer knows. */
export interface RequestToSign {
  method: string;
  path: string;
  /** The body exactly as sent (string → UTF-8). */
  body: string | Uint8Array;
  timeMs: number;
  /** 32 lowercase hex chars; default: 16 fresh random bytes. */
  nonce?: string;
}

/**
 * Who signs the UE's key requests: the seam between the ME-based mode (the ME holds the KEK: kekSigner)
 * and the UICC-based mode (the card holds it: cardSigner in src/mbms/uicc/uicc-proxy.ts, AUTHENTICATE
 * mode F4). Resolves with the authentication headers (x-mbms-user, x-mbms-time, x-mbms-nonce, authorization).
 */
export interface RequestSigner {
  sign(request: RequestToSign): Promise<Record<string, string>>;
}

/** ME mode: signs with the KEK held in the ME (signRequest). Keeps a reference to `kek`, not a copy. */
export function kekSigner(kek: Uint8Array, userId: string, core?: CryptoCore): RequestSigner {
  if (!(kek instanceof Uint8Array) || kek.length === 0) throw new MbmsError("ERR_KEY_LENGTH", "KEK must be a non-empty byte array");
  return {
    sign: async (r) => ({ ...signRequest({ kek, userId, method: r.method, path: r.path, body: r.body, timeMs: r.timeMs, ...(r.nonce !== undefined ? { nonce: r.nonce } : {}) }, core) }),
  };
}

/** Parses `MBMS-HMAC-SHA1 <40 hex>`; undefined when malformed. */
export function parseAuthorization(value: string | undefined): Uint8Array | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^MBMS-HMAC-SHA1 ([0-9a-fA-F]{40})$/.exec(value);
  return m ? fromHex(m[1]!, MAC_BYTES) : undefined;
}
