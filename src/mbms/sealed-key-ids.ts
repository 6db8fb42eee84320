/**
 * What the KEK hides besides the TGKs (the founding document: the BM-SC "encrypts TGK, TGK-ID, TGK_LIFE and
 * MBMS-ID with KEK"): the MBMS service id (RFC 4563 Key ID type 0, MBMS Key Domain ID) and each TGK's validity
 * (private type 241: TGK-ID (4) ‖ valid-from NTP (8) ‖ expires-at NTP (8)), as an RFC 4563 Key ID list. The key
 * message carries it in a sealed General Extension (type 250, mikey/sealed-extension.ts); the card returns the
 * same list to the ME after a key message delivery (AUTHENTICATE mode 01). Browser-safe.
 */
import { KeyIdType, decodeKeyIdList, encodeKeyIdList, type KeyIdEntry } from "../mikey/codec/index.js";
import { MikeyError } from "../mikey/errors.js";
import { msFromNtp, ntpFromMs } from "../mikey/ntp.js";
import { MbmsError } from "./errors.js";

/** RFC 4563 §8: Key ID types 241–255 are for private use; ours carries a TGK's validity (and service-parameters.ts's type 242). */
export const KEY_ID_TGK_VALIDITY = 241;
const VALIDITY_BYTES = 20;

export interface TgkValidity {
  tgkId: number;
  /** ms since the epoch. */
  validFrom: number;
  expiresAt: number;
}

/** The sealed facts of a key message: its service and its TGKs' IDs and lifetimes (no key). */
export interface SealedKeyFacts {
  serviceId: string;
  tgks: TgkValidity[];
}

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

function validityEntry(g: TgkValidity): KeyIdEntry {
  const keyId = new Uint8Array(VALIDITY_BYTES);
  const view = new DataView(keyId.buffer);
  view.setUint32(0, g.tgkId >>> 0);
  view.setBigUint64(4, ntpFromMs(g.validFrom));
  view.setBigUint64(12, ntpFromMs(g.expiresAt));
  return { keyIdType: KEY_ID_TGK_VALIDITY, keyId };
}

/** The Key ID list: type 0 (service id) first, then one type 241 per TGK, in order. */
export function encodeSealedKeyIds(facts: SealedKeyFacts): Uint8Array {
  return encodeKeyIdList([{ keyIdType: KeyIdType.MbmsKeyDomainId, keyId: utf8.encode(facts.serviceId) }, ...facts.tgks.map(validityEntry)]);
}

/**
 * Reads the list strictly: exactly one non-empty UTF-8 service id, at least one validity of 20 bytes, TGK-IDs
 * unique, no other entry. MbmsError ERR_ARGUMENT otherwise (the message names no value, only what is wrong).
 */
export function decodeSealedKeyIds(bytes: Uint8Array): SealedKeyFacts {
  let entries: KeyIdEntry[];
  try {
    entries = decodeKeyIdList(bytes);
  } catch (e) {
    if (e instanceof MikeyError) throw new MbmsError("ERR_ARGUMENT", `the sealed Key ID list does not decode (${e.code})`);
    throw e;
  }
  let serviceId: string | undefined;
  const tgks: TgkValidity[] = [];
  for (const k of entries) {
    if (k.keyIdType === KeyIdType.MbmsKeyDomainId && serviceId === undefined && k.keyId.length > 0) {
      try {
        serviceId = text.decode(k.keyId);
      } catch {
        throw new MbmsError("ERR_ARGUMENT", "the sealed service id is not UTF-8");
      }
    } else if (k.keyIdType === KEY_ID_TGK_VALIDITY && k.keyId.length === VALIDITY_BYTES) {
      const v = new DataView(k.keyId.buffer, k.keyId.byteOffset, VALIDITY_BYTES);
      const tgkId = v.getUint32(0);
      if (tgks.some((g) => g.tgkId === tgkId)) throw new MbmsError("ERR_ARGUMENT", `TGK-ID ${tgkId} has two validities`);
      tgks.push({ tgkId, validFrom: msFromNtp(v.getBigUint64(4)), expiresAt: msFromNtp(v.getBigUint64(12)) });
    } else {
      throw new MbmsError("ERR_ARGUMENT", `an unexpected sealed Key ID entry (type ${k.keyIdType}, ${k.keyId.length} bytes)`);
    }
  }
  if (serviceId === undefined || tgks.length === 0) throw new MbmsError("ERR_ARGUMENT", "the sealed Key ID list lacks the service id or the TGK validities");
  return { serviceId, tgks };
}
