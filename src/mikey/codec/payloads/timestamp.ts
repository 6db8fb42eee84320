/** T payload (RFC 3830 §6.6): Next | TS type (8) | TS value (64 bits NTP/NTP-UTC, 32 bits COUNTER). */
import { MikeyError } from "../../errors.js";
import { PayloadType, TS_LENGTH, TsType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { TimestampPayload } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";

function tsLength(tsType: number): number | undefined {
  return TS_LENGTH[tsType];
}

export function decodeTimestamp(r: ByteReader): TimestampPayload {
  const tsType = r.u8("T TS type");
  const n = tsLength(tsType);
  if (n === undefined) throw new MikeyError("ERR_UNKNOWN_TS_TYPE", `TS type ${tsType}`);
  return { type: PayloadType.T, tsType, value: r.uint(n, "T TS value") };
}

export function encodeTimestamp(w: ByteWriter, p: TimestampPayload): void {
  const n = tsLength(p.tsType);
  if (n === undefined) throw encodeError("T TS type", `${p.tsType} is unknown`);
  w.u8(p.tsType, "T TS type").uint(p.value, n, "T TS value");
}

/**
 * The timestamp as the 64 bits used in PRF input and the KEMAC IV: a COUNTER is zero-padded at the
 * front (§6.6 says so for the PRF; docs/key-derivation.md §2 applies it to the IV too).
 */
export function timestamp64(t: TimestampPayload): Uint8Array {
  const out = new Uint8Array(8);
  let v = t.value;
  if (v < 0n || v >> (t.tsType === TsType.Counter ? 32n : 64n) !== 0n) throw encodeError("T TS value", "out of range");
  for (let i = 7; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
