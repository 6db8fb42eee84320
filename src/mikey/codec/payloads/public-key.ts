/** Payloads of the public-key and DH modes: PKE (§6.3), DH (§6.4), SIGN (§6.5), CHASH (§6.8). */
import { MikeyError } from "../../errors.js";
import { DH_VALUE_LENGTH, HASH_LENGTH, PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { ChashPayload, DhPayload, PkePayload, SignPayload } from "../types.js";
import { checkUint, encodeError, type ByteWriter } from "../writer.js";
import { checkKvType, decodeKeyValidity, encodeKeyValidity } from "./key-validity.js";

/** PKE: Next | C (2 bits) | Data len (14 bits) | Data. */
export function decodePke(r: ByteReader): PkePayload {
  const cLen = r.u16("PKE C/length");
  return { type: PayloadType.PKE, cache: cLen >>> 14, data: r.bytes(cLen & 0x3fff, "PKE data") };
}

export function encodePke(w: ByteWriter, p: PkePayload): void {
  checkUint(p.cache, 3, "PKE C");
  checkUint(p.data.length, 0x3fff, "PKE data length");
  w.u16((p.cache << 14) | p.data.length, "PKE C/length").bytes(p.data, "PKE data");
}

/** DH: Next | DH-Group | DH-value (length by group) | Reserved (4) | KV (4) | KV data. */
export function decodeDh(r: ByteReader): DhPayload {
  const group = r.u8("DH group");
  const n = DH_VALUE_LENGTH[group];
  if (n === undefined) throw new MikeyError("ERR_UNKNOWN_ALGORITHM", `DH group ${group}`);
  const value = r.bytes(n, "DH value");
  const kv = decodeKeyValidity(r.u8("DH reserved/KV") & 0x0f, r);
  return { type: PayloadType.DH, group, value, kv };
}

export function encodeDh(w: ByteWriter, p: DhPayload): void {
  const n = DH_VALUE_LENGTH[p.group];
  if (n === undefined) throw encodeError("DH group", `${p.group} is unknown`);
  if (p.value.length !== n) throw encodeError("DH value", `${p.value.length} bytes, group ${p.group} needs ${n}`);
  w.u8(p.group, "DH group").bytes(p.value, "DH value").u8(checkKvType(p.kv), "DH KV");
  encodeKeyValidity(w, p.kv);
}

/** SIGN: S type (4 bits) | Signature len (12 bits, bytes) | Signature. No next-payload byte. */
export function decodeSign(r: ByteReader): SignPayload {
  const tLen = r.u16("SIGN type/length");
  return { type: PayloadType.SIGN, signType: tLen >>> 12, signature: r.bytes(tLen & 0x0fff, "SIGN signature") };
}

export function encodeSign(w: ByteWriter, p: SignPayload): void {
  checkUint(p.signType, 0x0f, "SIGN S type");
  checkUint(p.signature.length, 0x0fff, "SIGN signature length");
  w.u16((p.signType << 12) | p.signature.length, "SIGN type/length").bytes(p.signature, "SIGN signature");
}

/** CHASH: Next | Hash func | Hash (length by hash function). */
export function decodeChash(r: ByteReader): ChashPayload {
  const hashFunc = r.u8("CHASH hash func");
  const n = HASH_LENGTH[hashFunc];
  if (n === undefined) throw new MikeyError("ERR_UNKNOWN_ALGORITHM", `CHASH hash func ${hashFunc}`);
  return { type: PayloadType.CHASH, hashFunc, hash: r.bytes(n, "CHASH hash") };
}

export function encodeChash(w: ByteWriter, p: ChashPayload): void {
  const n = HASH_LENGTH[p.hashFunc];
  if (n === undefined) throw encodeError("CHASH hash func", `${p.hashFunc} is unknown`);
  if (p.hash.length !== n) throw encodeError("CHASH hash", `${p.hash.length} bytes, expected ${n}`);
  w.u8(p.hashFunc, "CHASH hash func").bytes(p.hash, "CHASH hash");
}
