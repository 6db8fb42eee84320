/**
 * The value of an AUTHENTICATE mode F2 response (apdu.ts): TGK-ID (4, big-endian) ‖ SRTP master key
 * (16|32) ‖ master salt (14). The card encodes it, the ME's proxy decodes it. Browser-safe.
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
