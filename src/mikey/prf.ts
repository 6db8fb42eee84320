// The MIKEY PRF and key derivations (RFC 3830 §4.1.2–§4.1.4), a thin layer over the WASM core
// (assembly/mikey.ts). Pure: no Node APIs, runs in browsers.
import { CoreError } from "../errors.js";
import type { CryptoCore } from "../wasm/core.js";
import { defaultCore } from "../wasm/default-core.js";

/**
 * The PRF constants (labels' first 32 bits). RFC 3830 §4.1.3 takes them from consecutive 9-digit runs
 * of the decimal expansion of e = 2.718281828 459045235 360287471 352662497 757247093 699959574 966967627
 * 724076630 …; the RFC uses the first seven runs.
 */
export const MIKEY_CONST = {
  /** §4.1.3, from the TGK: TEK (the SRTP master key), run 1 (718281828). */
  TEK: 0x2ad01c64,
  /** §4.1.3: authentication key, run 2 (459045235). */
  AUTH: 0x1b5c7973,
  /** §4.1.3: encryption key, run 3 (360287471). */
  ENCR: 0x15798cef,
  /** §4.1.3: salting key (the SRTP master salt), run 7 (966967627). */
  SALT: 0x39a2c14b,
  /** §4.1.4, from the PSK/envelope key, cs_id = 0xFF: encr_key, run 4 (352662497). */
  PSK_ENCR: 0x150533e1,
  /** §4.1.4: auth_key, run 5 (757247093). */
  PSK_AUTH: 0x2d22ac75,
  /** §4.1.4: salt_key, run 6 (699959574). */
  PSK_SALT: 0x29b88916,
  /**
   * Ours (docs/key-derivation.md §3, Alternative 2): SK-TGK = PRF(TGK, C_SK ‖ 0xFF ‖ CSB_ID ‖ TGK_RAND). Following
   * §4.1.3's rule, it is the next unused 9-digit run of e, run 8: 724076630 = 0x2B288856. It differs from
   * all seven RFC 3830 constants; RFC 4563 (Key ID) and RFC 4909 (OMA BCAST) define no PRF constants.
   */
  SK_TGK: 0x2b288856,
  /**
   * Ours (docs/key-derivation.md §2): ext_key = PRF(PSK, C_EXT ‖ 0xFF ‖ CSB_ID ‖ RAND), the key of a sealed
   * General Extension (sealed-extension.ts). Run 9 of e: 353547594 = 0x1512B54A.
   */
  EXT: 0x1512b54a,
} as const;

/** cs_id for the §4.1.4 derivations (from the PSK or envelope key). */
export const CS_ID_TRANSPORT = 0xff;


/** PRF(inkey, label), `outLen` bytes (RFC 3830 §4.1.2). */
export function mikeyPrf(inkey: Uint8Array, label: Uint8Array, outLen: number, core: CryptoCore = defaultCore()): Uint8Array {
  return core.mikeyPrf(inkey, label, outLen);
}

/**
 * The label after the constant (§4.1.3): cs_id (8 bits) ‖ CSB_ID (32 bits) ‖ RAND ‖ `extra`
 * (TEK_RAND2 for Alternative 1, empty otherwise).
 */
export function labelTail(csId: number, csbId: number, rand: Uint8Array, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(csId) || csId < 0 || csId > 0xff) throw new CoreError("ERR_ARGUMENT", "cs_id is 8 bits");
  if (!Number.isInteger(csbId) || csbId < 0 || csbId > 0xffffffff) throw new CoreError("ERR_ARGUMENT", "CSB ID is 32 bits");
  const out = new Uint8Array(5 + rand.length + extra.length);
  out[0] = csId;
  new DataView(out.buffer).setUint32(1, csbId);
  out.set(rand, 5);
  out.set(extra, 5 + rand.length);
  return out;
}

/** The full label const ‖ tail. */
export function mikeyLabel(constant: number, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + tail.length);
  new DataView(out.buffer).setUint32(0, constant >>> 0);
  out.set(tail, 4);
  return out;
}

export interface TekSaltParams {
  csId: number;
  csbId: number;
  /** RAND of the MIKEY message (TEK_RAND). */
  rand: Uint8Array;
  /** Alternative 1 (docs/key-derivation.md §3): appended to RAND in the label. */
  tekRand2?: Uint8Array;
  /** 16 (AES-128) or 32 (AES-256); default 16. */
  tekLength?: number;
  /** Default 14 (AES-CM SRTP profiles). */
  saltLength?: number;
}

/** TEK and salt from the TGK (§4.1.3), both from one core call. */
export function deriveTekSalt(tgk: Uint8Array, p: TekSaltParams, core: CryptoCore = defaultCore()): { tek: Uint8Array; salt: Uint8Array } {
  const tail = labelTail(p.csId, p.csbId, p.rand, p.tekRand2);
  const [tek, salt] = core.mikeyDerivePair(tgk, MIKEY_CONST.TEK, MIKEY_CONST.SALT, tail, p.tekLength ?? 16, p.saltLength ?? 14);
  return { tek, salt };
}

/** The encryption and authentication keys from the TGK (§4.1.3; SRTP uses its own KDF instead). */
export function deriveTgkEncrAuth(
  tgk: Uint8Array, csId: number, csbId: number, rand: Uint8Array, encrLength = 16, authLength = 20, core: CryptoCore = defaultCore(),
): { encrKey: Uint8Array; authKey: Uint8Array } {
  const [encrKey, authKey] = core.mikeyDerivePair(tgk, MIKEY_CONST.ENCR, MIKEY_CONST.AUTH, labelTail(csId, csbId, rand), encrLength, authLength);
  return { encrKey, authKey };
}

/**
 * The keys that protect a MIKEY message (§4.1.4), from the PSK or envelope key with 0xFF as cs_id:
 * encr_key (AES-CM-128: 16), auth_key (HMAC-SHA1: 20), salt_key (14 for AES-CM, 8 for AES-KW).
 */
export function deriveTransportKeys(
  psk: Uint8Array, csbId: number, rand: Uint8Array, lengths: { encr?: number; auth?: number; salt?: number } = {},
  core: CryptoCore = defaultCore(),
): { encrKey: Uint8Array; authKey: Uint8Array; saltKey: Uint8Array } {
  const tail = labelTail(CS_ID_TRANSPORT, csbId, rand);
  const [encrKey, authKey] = core.mikeyDerivePair(psk, MIKEY_CONST.PSK_ENCR, MIKEY_CONST.PSK_AUTH, tail, lengths.encr ?? 16, lengths.auth ?? 20);
  const saltKey = core.mikeyPrf(psk, mikeyLabel(MIKEY_CONST.PSK_SALT, tail), lengths.salt ?? 14);
  return { encrKey, authKey, saltKey };
}

/**
 * The key of a message's sealed General Extensions (sealed-extension.ts): §4.1.4's derivation from the PSK with
 * our constant C_EXT, 16 bytes (AES-CM-128). A key of its own, so no keystream is shared with the KEMAC's.
 */
export function deriveExtensionKey(psk: Uint8Array, csbId: number, rand: Uint8Array, core: CryptoCore = defaultCore()): Uint8Array {
  return core.mikeyPrf(psk, mikeyLabel(MIKEY_CONST.EXT, labelTail(CS_ID_TRANSPORT, csbId, rand)), 16);
}
