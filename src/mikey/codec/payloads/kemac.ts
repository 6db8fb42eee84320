/**
 * KEMAC payload (RFC 3830 §6.2): Next | Encr alg (8) | Encr data len (16) | Encr data | MAC alg (8) | MAC.
 * The MAC has no length field: its length follows from the MAC alg. The codec does not decrypt.
 */
import { MikeyError } from "../../errors.js";
import { MAC_LENGTH, PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { KemacPayload, VerificationPayload } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";

/** MAC length for a MAC algorithm, or ERR_UNKNOWN_ALGORITHM: the layout depends on it. */
export function macLength(macAlg: number, what: string): number {
  const n = MAC_LENGTH[macAlg];
  if (n === undefined) throw new MikeyError("ERR_UNKNOWN_ALGORITHM", `${what} MAC alg ${macAlg}`);
  return n;
}

function checkMac(macAlg: number, mac: Uint8Array, what: string): void {
  const n = MAC_LENGTH[macAlg];
  if (n === undefined) throw encodeError(`${what} MAC alg`, `${macAlg} is unknown`);
  if (!(mac instanceof Uint8Array) || mac.length !== n) throw encodeError(`${what} MAC`, `must be ${n} bytes`);
}

/** Returns the payload and the absolute offset of its MAC field. */
export function decodeKemac(r: ByteReader): { payload: KemacPayload; macOffset: number } {
  const encrAlg = r.u8("KEMAC encr alg");
  const encrData = r.bytes(r.u16("KEMAC encr data length"), "KEMAC encr data");
  const macAlg = r.u8("KEMAC MAC alg");
  const macOffset = r.offset;
  const mac = r.bytes(macLength(macAlg, "KEMAC"), "KEMAC MAC");
  return { payload: { type: PayloadType.KEMAC, encrAlg, encrData, macAlg, mac }, macOffset };
}

/** Returns the absolute offset of the MAC field in the writer. */
export function encodeKemac(w: ByteWriter, p: KemacPayload): number {
  checkMac(p.macAlg, p.mac, "KEMAC");
  w.u8(p.encrAlg, "KEMAC encr alg").lengthPrefixed(p.encrData, 2, "KEMAC encr data").u8(p.macAlg, "KEMAC MAC alg");
  const macOffset = w.length;
  w.bytes(p.mac, "KEMAC MAC");
  return macOffset;
}

/** V payload (§6.9): Next | Auth alg (8; MAC alg values) | Ver data. */
export function decodeVerification(r: ByteReader): { payload: VerificationPayload; macOffset: number } {
  const macAlg = r.u8("V auth alg");
  const macOffset = r.offset;
  const mac = r.bytes(macLength(macAlg, "V"), "V ver data");
  return { payload: { type: PayloadType.V, macAlg, mac }, macOffset };
}

export function encodeVerification(w: ByteWriter, p: VerificationPayload): number {
  checkMac(p.macAlg, p.mac, "V");
  w.u8(p.macAlg, "V auth alg");
  const macOffset = w.length;
  w.bytes(p.mac, "V ver data");
  return macOffset;
}
