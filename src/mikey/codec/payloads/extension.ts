/**
 * General Extension payload (RFC 3830 §6.15): Next | Type (8) | Length (16, bytes) | Data.
 * Type 3 (Key ID, RFC 4563 §4) is decoded: Data = { Key ID Type (8) | Key ID Length (8) | Key ID },
 * filling Length exactly (ERR_LENGTH otherwise). Other types keep their data as bytes. The Key ID list
 * on its own (encodeKeyIdList/decodeKeyIdList) is also the plaintext of our sealed extension (type 250).
 */
import { ExtensionType, PayloadType } from "../constants.js";
import { ByteReader } from "../reader.js";
import type { GeneralExtensionPayload, KeyIdEntry } from "../types.js";
import { ByteWriter, encodeError } from "../writer.js";

export function decodeExtension(r: ByteReader): GeneralExtensionPayload {
  const extType = r.u8("EXT type");
  const length = r.u16("EXT length");
  if (extType !== ExtensionType.KeyId) return { type: PayloadType.GeneralExtension, extType, data: r.bytes(length, "EXT data") };
  const keyIds = readKeyIds(r.sub(length, "EXT Key ID data"));
  return { type: PayloadType.GeneralExtension, extType: ExtensionType.KeyId, keyIds };
}

/** RFC 4563 §4: { Key ID Type (8) | Key ID Length (8) | Key ID } up to the end of `body`. */
function readKeyIds(body: ByteReader): KeyIdEntry[] {
  const keyIds: KeyIdEntry[] = [];
  // Each entry consumes ≥ 2 bytes of a bounded region: the loop ends.
  while (body.remaining > 0) {
    const keyIdType = body.u8("Key ID type");
    keyIds.push({ keyIdType, keyId: body.bytes(body.u8("Key ID length"), "Key ID") });
  }
  return keyIds;
}

function writeKeyIds(w: ByteWriter, keyIds: readonly KeyIdEntry[]): void {
  for (const k of keyIds) w.u8(k.keyIdType, "Key ID type").lengthPrefixed(k.keyId, 1, "Key ID");
}

/** A Key ID list as bytes (a Key ID extension's Data); the entries' keyId are copied into a new array. */
export function encodeKeyIdList(keyIds: readonly KeyIdEntry[]): Uint8Array {
  const w = new ByteWriter();
  try {
    writeKeyIds(w, keyIds);
    return w.finish();
  } finally {
    w.wipe(); // the writer's own buffer: a temporary copy
  }
}

/** The entries of a Key ID list filling `bytes` exactly (MikeyError ERR_LENGTH on a truncated entry). */
export function decodeKeyIdList(bytes: Uint8Array): KeyIdEntry[] {
  return readKeyIds(new ByteReader(bytes, 0, bytes.length, "ERR_LENGTH"));
}

export function encodeExtension(w: ByteWriter, p: GeneralExtensionPayload): void {
  if ("keyIds" in p) {
    if (p.extType !== ExtensionType.KeyId) throw encodeError("EXT", "keyIds given for a type other than Key ID (3)");
    let length = 0;
    for (const k of p.keyIds) length += 2 + k.keyId.length;
    w.u8(ExtensionType.KeyId, "EXT type").u16(length, "EXT length");
    writeKeyIds(w, p.keyIds);
    return;
  }
  if (p.extType === ExtensionType.KeyId) throw encodeError("EXT", "a Key ID extension (type 3) is built from keyIds");
  w.u8(p.extType, "EXT type").lengthPrefixed(p.data, 2, "EXT data");
}
