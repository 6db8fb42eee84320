/**
 * Sealed General Extensions: General Extension payloads (RFC 3830 §6.15) whose Data is encrypted, for what a
 * PSK message must carry but an observer of it must not read. The MAC covers them like any payload (§5.2);
 * their Data is AES-CM-128 under ext_key = PRF(PSK, C_EXT ‖ 0xFF ‖ CSB_ID ‖ RAND) (prf.ts
 * deriveExtensionKey), with the KEMAC's IV rule (§4.2.3). ext_key is not encr_key, so the KEMAC's keystream
 * and this one never meet although they start from the same IV.
 *
 * Several sealed extensions in one message share one keystream: their Data, in message order, are
 * encrypted as one run (no two of them reuse keystream). An opener must therefore name the same sealed
 * types as the sealer; an extension whose type it does not name stays in the clear list, as ciphertext.
 * Pure: no Node APIs.
 */
import { ExtensionType, PayloadType, type GeneralExtensionPayload, type RawExtensionPayload } from "./codec/index.js";
import { concatBytes } from "../bytes.js";
import { MikeyError } from "./errors.js";

/** Our private, unregistered General Extension type: "sealed Key IDs" (an RFC 4563 Key ID list, encrypted). */
export const EXT_TYPE_SEALED_KEY_IDS = 250;

export interface SealedExtension {
  extType: number;
  data: Uint8Array;
}

type Cipher = (data: Uint8Array, iv: Uint8Array) => Uint8Array;

function checkType(extType: number): void {
  if (!Number.isInteger(extType) || extType < 0 || extType > 0xff || extType === ExtensionType.KeyId) {
    // Type 3 is decoded as a Key ID list (RFC 4563): its Data cannot be ciphertext.
    throw new MikeyError("ERR_ENCODE", `a sealed extension's type is 0..255 other than Key ID (3), got ${extType}`);
  }
}

/** The extensions with their Data encrypted, in the given order (the plaintext run is zeroed). */
export function sealExtensions(list: readonly SealedExtension[], encrypt: Cipher, iv: Uint8Array): RawExtensionPayload[] {
  for (const e of list) checkType(e.extType);
  const plain = concatBytes(list.map((e) => e.data));
  let cipher: Uint8Array;
  try {
    cipher = encrypt(plain, iv);
  } finally {
    plain.fill(0);
  }
  let at = 0;
  return list.map((e) => {
    const data = cipher.subarray(at, at + e.data.length);
    at += e.data.length;
    return { type: PayloadType.GeneralExtension, extType: e.extType, data };
  });
}

/** The extensions whose type is in `types`, in message order. */
export function sealedOf(extensions: readonly GeneralExtensionPayload[], types: readonly number[]): RawExtensionPayload[] {
  return extensions.filter((e): e is RawExtensionPayload => "data" in e && types.includes(e.extType));
}

/**
 * Decrypts `sealed` (call only after the MAC verified). The plaintexts are views of one new array, the
 * caller's to zero once read.
 */
export function openExtensions(sealed: readonly RawExtensionPayload[], decrypt: Cipher, iv: Uint8Array): SealedExtension[] {
  const run = concatBytes(sealed.map((e) => e.data));
  const plain = decrypt(run, iv);
  let at = 0;
  return sealed.map((e) => {
    const data = plain.subarray(at, at + e.data.length);
    at += e.data.length;
    return { extType: e.extType, data };
  });
}
