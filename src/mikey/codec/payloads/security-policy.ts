/**
 * SP payload (RFC 3830 §6.10): Next | Policy no (8) | Prot type (8) | Policy param length (16) |
 * { Type (8) | Length (8) | Value }. The TLVs must fill the param length exactly (ERR_LENGTH otherwise).
 */
import { MikeyError } from "../../errors.js";
import { PayloadType, ProtType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { SpParam, SpPayload } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";

export function decodeSecurityPolicy(r: ByteReader): SpPayload {
  const policyNo = r.u8("SP policy no");
  const protType = r.u8("SP prot type");
  if (protType !== ProtType.Srtp) throw new MikeyError("ERR_UNKNOWN_PROT_TYPE", `SP prot type ${protType}`);
  const body = r.sub(r.u16("SP param length"), "SP params");
  const params: SpParam[] = [];
  // Each TLV consumes ≥ 2 bytes of a bounded region: the loop ends.
  while (body.remaining > 0) {
    const type = body.u8("SP param type");
    params.push({ type, value: body.bytes(body.u8("SP param length"), "SP param value") });
  }
  return { type: PayloadType.SP, policyNo, protType, params };
}

export function encodeSecurityPolicy(w: ByteWriter, p: SpPayload): void {
  if (p.protType !== ProtType.Srtp) throw encodeError("SP prot type", `${p.protType} is unknown`);
  let length = 0;
  for (const param of p.params) length += 2 + param.value.length;
  w.u8(p.policyNo, "SP policy no").u8(p.protType, "SP prot type").u16(length, "SP param length");
  for (const param of p.params) w.u8(param.type, "SP param type").lengthPrefixed(param.value, 1, "SP param value");
}
