/** ID and CERT payloads (RFC 3830 §6.7): Next | Type (8) | Length (16, bytes) | Data. */
import { MikeyError } from "../../errors.js";
import { CertType, IdType, PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { CertPayload, IdPayload } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";

/** NAI, URI (Table 6.7.a) and byte string (RFC 6043). */
function isIdType(v: number): v is IdType {
  return v === IdType.Nai || v === IdType.Uri || v === IdType.ByteString;
}

function isCertType(v: number): v is CertType {
  return v >= CertType.X509v3 && v <= CertType.X509v3Encr;
}

export function decodeId(r: ByteReader): IdPayload {
  const idType = r.u8("ID type");
  if (!isIdType(idType)) throw new MikeyError("ERR_UNKNOWN_ID_TYPE", `ID type ${idType}`);
  return { type: PayloadType.ID, idType, id: r.bytes(r.u16("ID length"), "ID data") };
}

export function encodeId(w: ByteWriter, p: IdPayload): void {
  if (!isIdType(p.idType)) throw encodeError("ID type", `${p.idType} is unknown`);
  w.u8(p.idType, "ID type").lengthPrefixed(p.id, 2, "ID data");
}

export function decodeCert(r: ByteReader): CertPayload {
  const certType = r.u8("CERT type");
  if (!isCertType(certType)) throw new MikeyError("ERR_UNKNOWN_ID_TYPE", `CERT type ${certType}`);
  return { type: PayloadType.CERT, certType, cert: r.bytes(r.u16("CERT length"), "CERT data") };
}

export function encodeCert(w: ByteWriter, p: CertPayload): void {
  if (!isCertType(p.certType)) throw encodeError("CERT type", `${p.certType} is unknown`);
  w.u8(p.certType, "CERT type").lengthPrefixed(p.cert, 2, "CERT data");
}
