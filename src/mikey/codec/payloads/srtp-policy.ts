/**
 * Typed access to SRTP policy parameters (RFC 3830 §6.10.1, RFC 4771, RFC 7714 §14.3). A parameter that
 * is absent takes the SRTP default; this layer does not fill defaults in.
 */
import { MikeyError } from "../../errors.js";
import { SrtpParamType } from "../constants.js";
import type { SpParam } from "../types.js";
import { checkUint } from "../writer.js";

/** SRTP policy parameters by name; each field maps to one SrtpParamType. */
export interface SrtpPolicy {
  encrAlg?: number; // 0: SrtpEncrAlg
  encrKeyLen?: number; // 1: bytes (also the master key length)
  authAlg?: number; // 2: SrtpAuthAlg
  authKeyLen?: number; // 3: bytes (GStreamer wrongly puts the tag length here)
  saltKeyLen?: number; // 4: bytes
  prf?: number; // 5: 0 = AES-CM
  keyDerivationRate?: number; // 6: big-endian, 1–4 bytes accepted, written in 1–4 bytes as needed
  srtpEncryption?: number; // 7: 0/1
  srtcpEncryption?: number; // 8: 0/1
  fecOrder?: number; // 9: 0 = FEC then SRTP
  srtpAuthentication?: number; // 10: 0/1
  authTagLen?: number; // 11: bytes
  prefixLen?: number; // 12: bytes
  rocTransmissionRate?: number; // 13: 16 bits (RFC 4771)
  srtpAuthAlg?: number; // 14
  srtcpAuthAlg?: number; // 15
  srtpAuthKeyLen?: number; // 16
  srtcpAuthKeyLen?: number; // 17
  srtpAuthTagLen?: number; // 18
  srtcpAuthTagLen?: number; // 19
  aeadAuthTagLen?: number; // 20 (RFC 7714)
}

type Field = keyof SrtpPolicy;

/** Field, type number, and accepted value widths in bytes (first = width written). */
const FIELDS: ReadonlyArray<readonly [Field, SrtpParamType, readonly number[]]> = [
  ["encrAlg", SrtpParamType.EncrAlg, [1]],
  ["encrKeyLen", SrtpParamType.EncrKeyLen, [1]],
  ["authAlg", SrtpParamType.AuthAlg, [1]],
  ["authKeyLen", SrtpParamType.AuthKeyLen, [1]],
  ["saltKeyLen", SrtpParamType.SaltKeyLen, [1]],
  ["prf", SrtpParamType.Prf, [1]],
  ["keyDerivationRate", SrtpParamType.KeyDerivationRate, [1, 2, 3, 4]],
  ["srtpEncryption", SrtpParamType.SrtpEncryption, [1]],
  ["srtcpEncryption", SrtpParamType.SrtcpEncryption, [1]],
  ["fecOrder", SrtpParamType.FecOrder, [1]],
  ["srtpAuthentication", SrtpParamType.SrtpAuthentication, [1]],
  ["authTagLen", SrtpParamType.AuthTagLen, [1]],
  ["prefixLen", SrtpParamType.PrefixLen, [1]],
  ["rocTransmissionRate", SrtpParamType.RocTransmissionRate, [2]],
  ["srtpAuthAlg", SrtpParamType.SrtpAuthAlg, [1]],
  ["srtcpAuthAlg", SrtpParamType.SrtcpAuthAlg, [1]],
  ["srtpAuthKeyLen", SrtpParamType.SrtpAuthKeyLen, [1]],
  ["srtcpAuthKeyLen", SrtpParamType.SrtcpAuthKeyLen, [1]],
  ["srtpAuthTagLen", SrtpParamType.SrtpAuthTagLen, [1]],
  ["srtcpAuthTagLen", SrtpParamType.SrtcpAuthTagLen, [1]],
  ["aeadAuthTagLen", SrtpParamType.AeadAuthTagLen, [1]],
];

/**
 * Reads SRTP parameters from an SP payload's params. Unknown types are skipped (returned in `unknown`);
 * a known type with a width it cannot have, or a repeated type, throws ERR_SP_PARAM.
 */
export function readSrtpPolicy(params: readonly SpParam[]): { policy: SrtpPolicy; unknown: SpParam[] } {
  const policy: SrtpPolicy = {};
  const unknown: SpParam[] = [];
  const seen = new Set<number>();
  for (const p of params) {
    const f = FIELDS.find(([, t]) => t === p.type);
    if (f === undefined) {
      unknown.push(p);
      continue;
    }
    const [field, , widths] = f;
    if (seen.has(p.type)) throw new MikeyError("ERR_SP_PARAM", `SRTP parameter ${p.type} repeated`);
    seen.add(p.type);
    if (!widths.includes(p.value.length)) {
      throw new MikeyError("ERR_SP_PARAM", `SRTP parameter ${p.type} has ${p.value.length} byte(s)`);
    }
    let v = 0;
    for (const b of p.value) v = v * 256 + b;
    policy[field] = v;
  }
  return { policy, unknown };
}

/** SRTP parameters in type order, each in its narrowest accepted width. Range errors throw ERR_ENCODE. */
export function buildSrtpParams(policy: SrtpPolicy): SpParam[] {
  const out: SpParam[] = [];
  for (const [field, type, widths] of FIELDS) {
    const v = policy[field];
    if (v === undefined) continue;
    const max = widths[widths.length - 1]!;
    checkUint(v, 2 ** (8 * max) - 1, `SRTP parameter ${field}`);
    let n = widths[0]!;
    while (v >= 2 ** (8 * n)) n++;
    const value = new Uint8Array(n);
    for (let i = n - 1, x = v; i >= 0; i--, x = Math.floor(x / 256)) value[i] = x % 256;
    out.push({ type, value });
  }
  return out;
}
