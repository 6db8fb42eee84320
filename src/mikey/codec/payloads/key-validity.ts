/** Key validity data (RFC 3830 §6.14), after a 4-bit KV type in Key data (§6.13) and DH (§6.4). */
import { MikeyError } from "../../errors.js";
import { KvType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { KeyValidity } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";

export function decodeKeyValidity(kvType: number, r: ByteReader): KeyValidity {
  switch (kvType) {
    case KvType.Null:
      return { kvType };
    case KvType.Spi: // SPI length (8) | SPI
      return { kvType, spi: r.bytes(r.u8("KV SPI length"), "KV SPI") };
    case KvType.Interval: { // VF length (8) | Valid From | VT length (8) | Valid To
      const validFrom = r.bytes(r.u8("KV VF length"), "KV Valid From");
      const validTo = r.bytes(r.u8("KV VT length"), "KV Valid To");
      return { kvType, validFrom, validTo };
    }
    default:
      throw new MikeyError("ERR_UNKNOWN_KV_TYPE", `KV type ${kvType}`);
  }
}

export function encodeKeyValidity(w: ByteWriter, kv: KeyValidity): void {
  switch (kv.kvType) {
    case KvType.Null:
      return;
    case KvType.Spi:
      w.lengthPrefixed(kv.spi, 1, "KV SPI");
      return;
    case KvType.Interval:
      w.lengthPrefixed(kv.validFrom, 1, "KV Valid From").lengthPrefixed(kv.validTo, 1, "KV Valid To");
      return;
    default:
      throw encodeError("KV type", `${(kv as { kvType: number }).kvType} is unknown`);
  }
}

export function checkKvType(kv: KeyValidity): number {
  const t = (kv as { kvType: unknown }).kvType;
  if (t !== KvType.Null && t !== KvType.Spi && t !== KvType.Interval) throw encodeError("KV type", `${String(t)} is unknown`);
  return t;
}
