/** Common header, HDR (RFC 3830 §6.1, §6.1.1; Empty map from RFC 4563 §5). */
import { MikeyError } from "../errors.js";
import { CsIdMapType, DataType, MIKEY_VERSION, PayloadType } from "./constants.js";
import type { ByteReader } from "./reader.js";
import type { MikeyHeader, SrtpIdEntry } from "./types.js";
import { encodeError, type ByteWriter } from "./writer.js";

/** Data types defined by RFC 3830 (Table 6.1.a). Later ones (DHHMAC, RSA-R, SAKKE…) are refused. */
export function isKnownDataType(v: number): v is DataType {
  return v >= DataType.PskInit && v <= DataType.Error;
}

/** Reads HDR; returns it with the next-payload value (the type of the first payload). */
export function decodeHeader(r: ByteReader): { header: MikeyHeader; next: number } {
  const version = r.u8("HDR version");
  if (version !== MIKEY_VERSION) throw new MikeyError("ERR_VERSION", `HDR version ${version}, expected 1`);
  const dataType = r.u8("HDR data type");
  if (!isKnownDataType(dataType)) throw new MikeyError("ERR_UNKNOWN_DATA_TYPE", `HDR data type ${dataType}`);
  const next = r.u8("HDR next payload");
  const vPrf = r.u8("HDR V/PRF");
  const csbId = r.u32("HDR CSB ID");
  const csCount = r.u8("HDR #CS");
  const csIdMapType = r.u8("HDR CS ID map type");
  const srtpMap: SrtpIdEntry[] = [];
  if (csIdMapType === CsIdMapType.SrtpId) {
    // §6.1.1: #CS entries of Policy_no (8) | SSRC (32) | ROC (32). The loop is bounded by #CS ≤ 255.
    for (let i = 0; i < csCount; i++) {
      srtpMap.push({ policyNo: r.u8("SRTP-ID policy no"), ssrc: r.u32("SRTP-ID SSRC"), roc: r.u32("SRTP-ID ROC") });
    }
  } else if (csIdMapType !== CsIdMapType.Empty) {
    throw new MikeyError("ERR_UNKNOWN_MAP_TYPE", `CS ID map type ${csIdMapType}`);
  }
  const header: MikeyHeader = {
    version, dataType, v: (vPrf & 0x80) !== 0, prfFunc: vPrf & 0x7f, csbId, csIdMapType, csCount, srtpMap,
  };
  return { header, next };
}

export function encodeHeader(w: ByteWriter, h: MikeyHeader, next: PayloadType): void {
  if (h.version !== MIKEY_VERSION) throw encodeError("HDR version", `${h.version}, only 1 exists`);
  if (!isKnownDataType(h.dataType)) throw encodeError("HDR data type", `${h.dataType} is not an RFC 3830 data type`);
  w.u8(MIKEY_VERSION, "HDR version").u8(h.dataType, "HDR data type").u8(next, "HDR next payload");
  w.u8((h.v ? 0x80 : 0) | checkPrf(h.prfFunc), "HDR V/PRF").u32(h.csbId, "HDR CSB ID");
  if (h.csIdMapType === CsIdMapType.SrtpId) {
    if (h.csCount !== h.srtpMap.length) throw encodeError("HDR #CS", `${h.csCount} but ${h.srtpMap.length} SRTP-ID entries`);
    w.u8(h.srtpMap.length, "HDR #CS").u8(CsIdMapType.SrtpId, "HDR CS ID map type");
    for (const e of h.srtpMap) w.u8(e.policyNo, "SRTP-ID policy no").u32(e.ssrc, "SRTP-ID SSRC").u32(e.roc, "SRTP-ID ROC");
  } else if (h.csIdMapType === CsIdMapType.Empty) {
    if (h.srtpMap.length !== 0) throw encodeError("HDR CS ID map", "the Empty map carries no SRTP-ID entries");
    w.u8(h.csCount, "HDR #CS").u8(CsIdMapType.Empty, "HDR CS ID map type");
  } else {
    throw encodeError("HDR CS ID map type", `${h.csIdMapType as number} is unknown`);
  }
}

function checkPrf(prf: number): number {
  if (!Number.isInteger(prf) || prf < 0 || prf > 0x7f) throw encodeError("HDR PRF func", `${prf} is not 7 bits`);
  return prf;
}
