/**
 * General Extension payload (RFC 3830 §6.15): Next | Type (8) | Length (16, bytes) | Data.
 * Type 3 (Key ID, RFC 4563 §4) is decoded: Data = { Key ID Type (8) | Key ID Length (8) | Key ID },
 * filling Length exactly (ERR_LENGTH otherwise). Other types keep their data as bytes.
 */
import { ExtensionType, PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { GeneralExtensionPayload, KeyIdEntry } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";

export function decodeExtension(r: ByteReader): GeneralExtensionPayload {
  const extType = r.u8("EXT type");
  const length = r.u16("EXT length");
  if (extType !== ExtensionType.KeyId) return { type: PayloadType.GeneralExtension, extType, data: r.bytes(length, "EXT data") };
  const body = r.sub(length, "EXT Key ID data");
  const keyIds: KeyIdEntry[] = [];
  // Each entry consumes ≥ 2 bytes of a bounded region: the loop ends.
  while (body.remaining > 0) {
    const keyIdType = body.u8("Key ID type");
    keyIds.push({ keyIdType, keyId: body.bytes(body.u8("Key ID length"), "Key ID") });
  }
  return { type: PayloadType.GeneralExtension, extType: ExtensionType.KeyId, keyIds };
}

export function encodeExtension(w: ByteWriter, p: GeneralExtensionPayload): void {
  if ("keyIds" in p) {
    if (p.extType !== ExtensionType.KeyId) throw encodeError("EXT", "keyIds given for a type other than Key ID (3)");
    let length = 0;
    for (const k of p.keyIds) length += 2 + k.keyId.length;
    w.u8(ExtensionType.KeyId, "EXT type").u16(length, "EXT length");
    for (const k of p.keyIds) w.u8(k.keyIdType, "Key ID type").lengthPrefixed(k.keyId, 1, "Key ID");
    return;
  }
  if (p.extType === ExtensionType.KeyId) throw encodeError("EXT", "a Key ID extension (type 3) is built from keyIds");
  w.u8(p.extType, "EXT type").lengthPrefixed(p.data, 2, "EXT data");
}
