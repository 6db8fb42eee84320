/**
 * The values of the key responses (apdu.ts): mode F2, TGK-ID (4, big-endian) ‖ SRTP master key (16|32) ‖
 * master salt (14); mode F5, TGK-ID ‖ SK-TGK (16|32, the TGK's length). The card encodes them, the ME's
 * proxy decodes them. Browser-safe.
 */
import { UiccError } from "./errors.js";

const TGK_ID_BYTES = 4;
const MASTER_SALT_BYTES = 14;

export interface TekResponse {
  tgkId: number;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
}

/** The response value (a new array: the caller zeroes it once sent). */
export function encodeTekResponse(r: TekResponse): Uint8Array {
  const value = new Uint8Array(TGK_ID_BYTES + r.masterKey.length + r.masterSalt.length);
  new DataView(value.buffer).setUint32(0, r.tgkId);
  value.set(r.masterKey, TGK_ID_BYTES);
  value.set(r.masterSalt, TGK_ID_BYTES + r.masterKey.length);
  return value;
}

/** Copies out of `value` (which the caller zeroes); ERR_BAD_RESPONSE unless it holds a 16- or 32-byte key. */
export function decodeTekResponse(value: Uint8Array | undefined): TekResponse {
  const keyLength = value ? value.length - TGK_ID_BYTES - MASTER_SALT_BYTES : -1;
  if (!value || (keyLength !== 16 && keyLength !== 32)) throw new UiccError("ERR_BAD_RESPONSE", `a TEK response of ${value?.length ?? 0} bytes`);
  return {
    tgkId: new DataView(value.buffer, value.byteOffset, TGK_ID_BYTES).getUint32(0),
    masterKey: value.slice(TGK_ID_BYTES, TGK_ID_BYTES + keyLength),
    masterSalt: value.slice(TGK_ID_BYTES + keyLength),
  };
}

/** Mode F5's value (a new array: the caller zeroes it once sent). */
export function encodeSkTgkResponse(tgkId: number, skTgk: Uint8Array): Uint8Array {
  const value = new Uint8Array(TGK_ID_BYTES + skTgk.length);
  new DataView(value.buffer).setUint32(0, tgkId);
  value.set(skTgk, TGK_ID_BYTES);
  return value;
}

/** Copies SK-TGK out of `value` (which the caller zeroes); ERR_BAD_RESPONSE unless it is 16 or 32 bytes. */
export function decodeSkTgkResponse(value: Uint8Array | undefined): Uint8Array {
  const length = value ? value.length - TGK_ID_BYTES : -1;
  if (!value || (length !== 16 && length !== 32)) throw new UiccError("ERR_BAD_RESPONSE", `an SK-TGK response of ${value?.length ?? 0} bytes`);
  return value.slice(TGK_ID_BYTES);
}
