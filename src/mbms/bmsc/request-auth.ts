/**
 * Authentication of key requests (src/mbms/http-protocol.ts): header syntax, user, clock skew, MAC (in
 * constant time, on the project core) and nonce replay. No Node APIs: headers come in as a plain record.
 *
 * Outcomes: "bad_request" (400) for malformed authentication headers; "unauthorized" (401) for every
 * other failure — unknown or disabled user, stale or future time, bad MAC, replayed nonce — without
 * saying which (the reason is returned for logging and tests only, never sent). For an unknown user a MAC
 * is still computed, under a throwaway key, so the answer takes about as long as for a known one. The
 * nonce is recorded only after the MAC verifies, so unauthenticated traffic cannot fill the replay cache.
 *
 * Limits (429, with how long to wait), applied only to authentic requests, so that nobody without the
 * user's KEK can use up that user's allowance: the user's token bucket (`limiter`) is checked before the
 * nonce is written (a limited request costs no write), and a token is taken only once the nonce was new
 * (a replayed request, e.g. one captured off the wire, costs its user nothing); the store refuses a nonce
 * beyond `maxNoncesPerUser` live ones.
 */
import type { CryptoCore } from "../../wasm/core.js";
import { defaultCore } from "../../wasm/default-core.js";
import {
  DEFAULT_MAX_SKEW_MS, HEADER_AUTHORIZATION, HEADER_NONCE, HEADER_TIME, HEADER_USER, NONCE_BYTES,
  fromHex, parseAuthorization, requestAuthKey, requestMacInput, verifyRequestMac,
} from "../http-protocol.js";
import type { AsyncKeyStore, UserRecord } from "./store/index.js";

export type AuthFailure = "missing_header" | "unknown_user" | "disabled_user" | "stale_time" | "bad_mac" | "replayed_nonce";

export type AuthResult =
  | { ok: true; userId: string }
  | { ok: false; status: 400; reason: "malformed_header" }
  | { ok: false; status: 401; reason: AuthFailure }
  | { ok: false; status: 429; reason: "rate_limited" | "nonce_cap"; userId: string; retryAfterMs: number };

/** Per-user admission (UserRateLimiter). */
export interface RequestLimiter {
  waitMs(userId: string, now: number): number;
  take(userId: string, now: number): void;
}

export interface AuthRequest {
  method: string;
  /** The request target exactly as sent (what the MAC covers). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export interface AuthOptions {
  store: AsyncKeyStore;
  now: number;
  /** Tolerated clock skew, either direction (default 5 min). */
  maxSkewMs?: number;
  core?: CryptoCore;
  limiter?: RequestLimiter;
  /** Live nonces the store keeps per user (default: no limit). */
  maxNoncesPerUser?: number;
  /** Reads the user (default: store.getUser); the record's KEK is zeroed here once the MAC is checked. */
  readUser?: (userId: string) => Promise<UserRecord | undefined>;
}

const MAX_USER_CHARS = 256;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const NONCE_HEX = /^[0-9a-f]{32}$/;

function single(v: string | string[] | undefined): string | undefined | null {
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : null; // arrays (repeated headers) are malformed
}

let dummyKek: Uint8Array | undefined;

export async function authenticateRequest(req: AuthRequest, opts: AuthOptions): Promise<AuthResult> {
  const core = opts.core ?? defaultCore();
  const skew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const user = single(req.headers[HEADER_USER]);
  const time = single(req.headers[HEADER_TIME]);
  const nonce = single(req.headers[HEADER_NONCE]);
  const auth = single(req.headers[HEADER_AUTHORIZATION]);
  if (user === null || time === null || nonce === null || auth === null) return { ok: false, status: 400, reason: "malformed_header" };
  if (user === undefined || time === undefined || nonce === undefined || auth === undefined) {
    return { ok: false, status: 401, reason: "missing_header" };
  }
  const mac = parseAuthorization(auth);
  if (user.length === 0 || user.length > MAX_USER_CHARS || !DECIMAL.test(time) || !NONCE_HEX.test(nonce) || !mac) {
    return { ok: false, status: 400, reason: "malformed_header" };
  }
  const timeMs = Number(time);
  const record = await (opts.readUser ? opts.readUser(user) : opts.store.getUser(user));
  const kek = record?.kek ?? (dummyKek ??= globalThis.crypto.getRandomValues(new Uint8Array(16)));
  let macOk: boolean;
  const kReq = requestAuthKey(kek, core);
  try {
    macOk = verifyRequestMac(kReq, requestMacInput(req.method, req.path, user, time, nonce, req.body), mac, core);
  } finally {
    kReq.fill(0);
    record?.kek.fill(0);
  }
  if (!record) return { ok: false, status: 401, reason: "unknown_user" };
  if (record.disabled) return { ok: false, status: 401, reason: "disabled_user" };
  if (!Number.isSafeInteger(timeMs) || Math.abs(timeMs - opts.now) > skew) return { ok: false, status: 401, reason: "stale_time" };
  if (!macOk) return { ok: false, status: 401, reason: "bad_mac" };
  const wait = opts.limiter?.waitMs(user, opts.now) ?? 0;
  if (wait > 0) return { ok: false, status: 429, reason: "rate_limited", userId: user, retryAfterMs: wait };
  const nonceBytes = fromHex(nonce, NONCE_BYTES)!;
  // Remembered until no request with this time could be accepted any more.
  const r = await opts.store.rememberNonce(user, nonceBytes, timeMs + skew, opts.now, opts.maxNoncesPerUser);
  if (!r.recorded && r.reason === "replayed") return { ok: false, status: 401, reason: "replayed_nonce" };
  if (!r.recorded) return { ok: false, status: 429, reason: "nonce_cap", userId: user, retryAfterMs: Math.max(1, r.retryAt - opts.now) };
  // Checked again: the user's other requests may have taken the last token while this one awaited the store.
  const late = opts.limiter?.waitMs(user, opts.now) ?? 0;
  if (late > 0) return { ok: false, status: 429, reason: "rate_limited", userId: user, retryAfterMs: late };
  opts.limiter?.take(user, opts.now);
  return { ok: true, userId: user };
}
