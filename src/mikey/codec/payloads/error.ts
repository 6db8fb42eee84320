/** ERR payload (RFC 3830 §6.12): Next | Error no (8) | Reserved (16). Reserved: 0 on send, ignored on receipt. */
import { PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { ErrorPayload } from "../types.js";
import type { ByteWriter } from "../writer.js";

export function decodeErrorPayload(r: ByteReader): ErrorPayload {
  const errorNo = r.u8("ERR error no");
  r.u16("ERR reserved");
  return { type: PayloadType.ERR, errorNo };
}

export function encodeErrorPayload(w: ByteWriter, p: ErrorPayload): void {
  w.u8(p.errorNo, "ERR error no").u16(0, "ERR reserved");
}
