/** RAND payload (RFC 3830 §6.11): Next | RAND len (8, bytes) | RAND. */
import { PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { RandPayload } from "../types.js";
import type { ByteWriter } from "../writer.js";

export function decodeRand(r: ByteReader): RandPayload {
  return { type: PayloadType.RAND, rand: r.bytes(r.u8("RAND length"), "RAND") };
}

export function encodeRand(w: ByteWriter, p: RandPayload): void {
  w.lengthPrefixed(p.rand, 1, "RAND");
}
