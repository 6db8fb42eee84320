/**
 * Key data sub-payloads (RFC 3830 §6.13), the plaintext of a KEMAC's encr data:
 * Next | Type (4) | KV (4) | Key data len (16) | Key data | [Salt len (16) | Salt] | [KV data].
 * They chain by next-payload: 20 (Key data) for another one, 0 (Last) after the last one.
 */
import { MikeyError } from "../../errors.js";
import { KeyDataType, MAX_MESSAGE_BYTES, PayloadType } from "../constants.js";
import { ByteReader } from "../reader.js";
import type { KeyDataPayload } from "../types.js";
import { ByteWriter, encodeError } from "../writer.js";
import { checkKvType, decodeKeyValidity, encodeKeyValidity } from "./key-validity.js";

function hasSalt(t: KeyDataType): boolean {
  return t === KeyDataType.TgkSalt || t === KeyDataType.TekSalt;
}

function isKeyDataType(v: number): v is KeyDataType {
  return v >= KeyDataType.Tgk && v <= KeyDataType.TekSalt;
}

/** Decodes one sub-payload body (after its next-payload byte). */
function decodeKeyData(r: ByteReader): KeyDataPayload {
  const typeKv = r.u8("Key data type/KV");
  const keyType = typeKv >>> 4;
  if (!isKeyDataType(keyType)) throw new MikeyError("ERR_UNKNOWN_KEY_TYPE", `Key data type ${keyType}`);
  const key = r.bytes(r.u16("Key data length"), "Key data");
  const salt = hasSalt(keyType) ? r.bytes(r.u16("Key data salt length"), "Key data salt") : undefined;
  const kv = decodeKeyValidity(typeKv & 0x0f, r);
  return salt === undefined ? { keyType, key, kv } : { keyType, key, salt, kv };
}

/**
 * Decodes the decrypted KEMAC contents: a chain of Key data sub-payloads that must end exactly with
 * the buffer. An empty buffer is an empty list (an update may carry no keys, §4.5).
 */
export function decodeKeyDataList(bytes: Uint8Array): KeyDataPayload[] {
  if (bytes.length > MAX_MESSAGE_BYTES) throw new MikeyError("ERR_TOO_LARGE", `${bytes.length} bytes of key data`);
  const r = new ByteReader(bytes);
  const out: KeyDataPayload[] = [];
  // Each sub-payload consumes ≥ 4 bytes: the loop ends.
  while (r.remaining > 0) {
    const next = r.u8("Key data next payload");
    out.push(decodeKeyData(r));
    if (next === PayloadType.Last) {
      r.expectEnd("ERR_TRAILING_DATA", "after the last Key data sub-payload");
      return out;
    }
    if (next !== PayloadType.KeyData) {
      throw new MikeyError("ERR_UNKNOWN_PAYLOAD", `next payload ${next} inside KEMAC key data`);
    }
  }
  if (out.length > 0) throw new MikeyError("ERR_TRUNCATED", "Key data chain ends without a Last sub-payload");
  return out;
}

export function encodeKeyDataList(list: readonly KeyDataPayload[]): Uint8Array {
  const w = new ByteWriter();
  list.forEach((k, i) => {
    if (!isKeyDataType(k.keyType)) throw encodeError("Key data type", `${k.keyType} is unknown`);
    if (hasSalt(k.keyType) !== (k.salt !== undefined)) {
      throw encodeError("Key data salt", `a salt is required exactly for TGK+SALT and TEK+SALT (type ${k.keyType})`);
    }
    w.u8(i === list.length - 1 ? PayloadType.Last : PayloadType.KeyData, "Key data next payload");
    w.u8((k.keyType << 4) | checkKvType(k.kv), "Key data type/KV").lengthPrefixed(k.key, 2, "Key data");
    if (k.salt !== undefined) w.lengthPrefixed(k.salt, 2, "Key data salt");
    encodeKeyValidity(w, k.kv);
  });
  return w.finish();
}
