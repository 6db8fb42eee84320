// An independent MIKEY PRF and key derivations on @noble/hashes, written straight from RFC 3830 §4.1.2–
// §4.1.4 (and docs/key-derivation.md §3 for Alternatives 1 and 2). Generates test/vectors/mikey-*.json and checks the
// WASM core; it shares no code with assembly/mikey.ts or src/.
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

/** P(s, label, m) (§4.1.2): HMAC(s, A_1 ‖ label) ‖ … ‖ HMAC(s, A_m ‖ label), A_0 = label, A_i = HMAC(s, A_{i−1}). */
export function refP(s: Uint8Array, label: Uint8Array, m: number): Uint8Array {
  const out = new Uint8Array(20 * m);
  let a = label;
  for (let i = 0; i < m; i++) {
    a = hmac(sha1, s, a);
    out.set(hmac(sha1, s, concat(a, label)), 20 * i);
  }
  return out;
}

/**
 * PRF(inkey, label) (§4.1.2). `pieceLengths` says how the inkey is cut: by default RFC 3830's 256-bit
 * pieces (n = ⌈len/32⌉). The minisip variant (last piece `len % 32` bytes) is passed in by a test.
 */
export function refPrf(
  inkey: Uint8Array, label: Uint8Array, outLen: number,
  pieceLengths: (len: number) => number[] = rfcPieces,
): Uint8Array {
  const m = Math.ceil(outLen / 20);
  const acc = new Uint8Array(20 * m);
  let at = 0;
  for (const len of pieceLengths(inkey.length)) {
    const p = refP(inkey.subarray(at, at + len), label, m);
    for (let i = 0; i < acc.length; i++) acc[i]! ^= p[i]!;
    at += len;
  }
  return acc.slice(0, outLen);
}

/** RFC 3830 §4.1.2: 32-byte pieces, the last one possibly shorter. */
export function rfcPieces(len: number): number[] {
  const n = Math.ceil(len / 32);
  return Array.from({ length: n }, (_, i) => Math.min(32, len - 32 * i));
}

/** minisip's cut (docs/key-derivation.md §1): the last piece is `len % 32` bytes, so 0 for 32- and 64-byte keys. */
export function minisipPieces(len: number): number[] {
  const n = Math.ceil(len / 32);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? len % 32 : 32));
}

const u32be = (x: number) => new Uint8Array([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]);

/** const ‖ cs_id (8 bits) ‖ CSB_ID (32 bits) ‖ RAND ‖ extra (§4.1.3; 0xFF as cs_id for §4.1.4). */
export function refLabel(constant: number, csId: number, csbId: number, rand: Uint8Array, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(u32be(constant), new Uint8Array([csId]), u32be(csbId), rand, extra);
}

export const REF_CONST = {
  tek: 0x2ad01c64, auth: 0x1b5c7973, encr: 0x15798cef, salt: 0x39a2c14b, // §4.1.3
  pskEncr: 0x150533e1, pskAuth: 0x2d22ac75, pskSalt: 0x29b88916, // §4.1.4
  skTgk: 0x2b288856, // ours, Alternative 2: digits 64–72 of e, 724076630
  ext: 0x1512b54a, // ours, the sealed General Extension's key: digits 73–81 of e, 353547594
} as const;

/** Standard TEK + salt (§4.1.3); Alternative 1 when tekRand2 is given (RAND ‖ TEK_RAND2). */
export function refTekSalt(
  tgk: Uint8Array, csId: number, csbId: number, rand: Uint8Array, tekLen: number, saltLen = 14, tekRand2?: Uint8Array,
): { tek: Uint8Array; salt: Uint8Array } {
  return {
    tek: refPrf(tgk, refLabel(REF_CONST.tek, csId, csbId, rand, tekRand2), tekLen),
    salt: refPrf(tgk, refLabel(REF_CONST.salt, csId, csbId, rand, tekRand2), saltLen),
  };
}

/** Alternative 2: SK-TGK = PRF(TGK, C_SK ‖ 0xFF ‖ CSB_ID ‖ TGK_RAND) (TGK's length), then TEK/salt from SK-TGK with TEK_RAND. */
export function refAlt2(
  tgk: Uint8Array, csId: number, csbId: number, tgkRand: Uint8Array, tekRand: Uint8Array, tekLen: number, saltLen = 14,
): { skTgk: Uint8Array; tek: Uint8Array; salt: Uint8Array } {
  const skTgk = refPrf(tgk, refLabel(REF_CONST.skTgk, 0xff, csbId, tgkRand), tgk.length);
  return { skTgk, ...refTekSalt(skTgk, csId, csbId, tekRand, tekLen, saltLen) };
}

// ---- the published vectors (test/vectors/mikey-prf.json, mikey-tek.json) --------------------------

export const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const fromHex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
/** Bytes start, start+1, … (mod 256): readable, reproducible inputs. */
export const seq = (start: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (start + i) & 255);

/** PRF vectors: inkey lengths 16..100 (1 to 4 pieces, 32/64 = the minisip trap), outputs 14..47 (m = 1..3). */
export function buildPrfVectors() {
  const inkeyLengths = [16, 20, 32, 40, 64, 100];
  const labelLengths = [25, 33, 41, 56, 80, 120]; // 56+: A_i ‖ label spans two SHA-1 blocks
  const outLengths = [14, 16, 20, 32, 47];
  const cases = [];
  for (const [i, n] of inkeyLengths.entries()) {
    const inkey = seq(0x40, n);
    const label = seq(0x80 + i, labelLengths[i]!);
    for (const outLen of outLengths) {
      cases.push({ name: `inkey ${n}, label ${label.length}, out ${outLen}`, inkey: toHex(inkey), label: toHex(label), outLen, out: toHex(refPrf(inkey, label, outLen)) });
    }
  }
  return {
    description: "MIKEY PRF (RFC 3830 §4.1.2, HMAC-SHA1): out = PRF(inkey, label) truncated to outLen bytes. "
      + "Inputs are byte sequences (inkey 40 41 42 …, label 80+i …). Generated by test/helpers/mikey-reference.ts (@noble/hashes); "
      + "not from any standard (none publishes MIKEY PRF vectors).",
    cases,
  };
}

/** TEK/salt vectors: docs/key-derivation.md §5's inputs, the PSK transport keys, 32/40-byte TGKs, Alt 1 and Alt 2. */
export function buildTekVectors() {
  const tgk = seq(0x10, 16), psk = seq(0x00, 16), rand = seq(0x20, 16), csbId = 0x12345678, csId = 1;
  const tail = (c: number, inkey: Uint8Array, outLen: number, cs = csId, r = rand) => toHex(refPrf(inkey, refLabel(c, cs, csbId, r), outLen));
  const common = { csbId: "12345678", csId: 1, rand: toHex(rand) };
  const standard = [
    { name: "docs/key-derivation.md §5: TGK 16 bytes", tgk: toHex(tgk), ...common,
      tek16: tail(REF_CONST.tek, tgk, 16), tek32: tail(REF_CONST.tek, tgk, 32), salt14: tail(REF_CONST.salt, tgk, 14),
      encr16: tail(REF_CONST.encr, tgk, 16), auth20: tail(REF_CONST.auth, tgk, 20) },
    ...[32, 40, 64].map((n) => {
      const k = seq(0x40, n);
      return { name: `TGK ${n} bytes (40 41 …)`, tgk: toHex(k), ...common,
        tek16: tail(REF_CONST.tek, k, 16), tek32: tail(REF_CONST.tek, k, 32), salt14: tail(REF_CONST.salt, k, 14),
        encr16: tail(REF_CONST.encr, k, 16), auth20: tail(REF_CONST.auth, k, 20) };
    }),
  ];
  const psKeys = { name: "docs/key-derivation.md §5: PSK transport keys (§4.1.4, cs_id 0xFF)", psk: toHex(psk), csbId: "12345678", rand: toHex(rand),
    encr16: tail(REF_CONST.pskEncr, psk, 16, 0xff), auth20: tail(REF_CONST.pskAuth, psk, 20, 0xff), salt14: tail(REF_CONST.pskSalt, psk, 14, 0xff),
    ext16: tail(REF_CONST.ext, psk, 16, 0xff) };
  const alt1 = [
    { tgk, rand2: seq(0xa0, 8), tekLen: 16 }, { tgk, rand2: seq(0xa0, 16), tekLen: 16 },
    { tgk: seq(0x40, 32), rand2: seq(0xa0, 8), tekLen: 32 }, { tgk: seq(0x40, 40), rand2: seq(0xa0, 12), tekLen: 16 },
  ].map((v) => {
    const { tek, salt } = refTekSalt(v.tgk, csId, csbId, rand, v.tekLen, 14, v.rand2);
    return { name: `Alt 1: TGK ${v.tgk.length}, TEK_RAND2 ${v.rand2.length}, TEK ${v.tekLen}`, tgk: toHex(v.tgk), ...common,
      tekRand: toHex(rand), tekRand2: toHex(v.rand2), tek: toHex(tek), salt: toHex(salt) };
  });
  const alt2 = [
    { tgk, tgkRand: seq(0xb0, 8), tekLen: 16 }, { tgk, tgkRand: seq(0xb0, 16), tekLen: 32 },
    { tgk: seq(0x40, 32), tgkRand: seq(0xb0, 8), tekLen: 32 }, { tgk: seq(0x40, 40), tgkRand: seq(0xb0, 8), tekLen: 16 },
  ].map((v) => {
    const { skTgk, tek, salt } = refAlt2(v.tgk, csId, csbId, v.tgkRand, rand, v.tekLen);
    return { name: `Alt 2: TGK ${v.tgk.length}, TGK_RAND ${v.tgkRand.length}, TEK ${v.tekLen}`, tgk: toHex(v.tgk), ...common,
      tekRand: toHex(rand), tgkRand: toHex(v.tgkRand), skTgk: toHex(skTgk), tek: toHex(tek), salt: toHex(salt) };
  });
  return {
    description: "MIKEY key derivations (RFC 3830 §4.1.3/§4.1.4) and this project's Alternatives 1 and 2 (docs/key-derivation.md §3). "
      + "Labels: const ‖ cs_id ‖ CSB_ID ‖ RAND (‖ TEK_RAND2 for Alt 1). Alt 2: SK-TGK = PRF(TGK, 0x2B288856 ‖ FF ‖ CSB_ID ‖ TGK_RAND), "
      + "as long as the TGK, then TEK/salt = the standard derivation from SK-TGK with TEK_RAND (= rand). "
      + "psk.ext16: ext_key = PRF(PSK, 0x1512B54A ‖ FF ‖ CSB_ID ‖ RAND), the sealed General Extension's key (ours). "
      + "Generated by test/helpers/mikey-reference.ts (@noble/hashes); ours, not from any standard.",
    constants: Object.fromEntries(Object.entries(REF_CONST).map(([k, v]) => [k, v.toString(16).padStart(8, "0")])),
    standard, psk: psKeys, alt1, alt2,
  };
}

/** The service configurations of issue 15's matrix: profile key length × TGK length × derivation × MKI layout. */
export const MATRIX_PROFILES = [
  { profile: "AES_CM_128_HMAC_SHA1_80", tekLen: 16 }, { profile: "AES_CM_128_HMAC_SHA1_32", tekLen: 16 },
  { profile: "AES_256_CM_HMAC_SHA1_80", tekLen: 32 }, { profile: "AES_256_CM_HMAC_SHA1_32", tekLen: 32 },
] as const;
export const MATRIX_LAYOUTS = [{ tgkIdBytes: 4, randBytes: 8 }, { tgkIdBytes: 2, randBytes: 14 }] as const;

/**
 * One TEK/salt vector per cell of the service matrix (the MKI = TGK-ID ‖ TEK_RAND2/TGK_RAND of the cell's
 * layout; cs_id 1, the only one a key message carries). The TGK-ID bytes are the MKI's, not part of the label.
 */
export function buildServiceMatrixVectors() {
  const csbId = 0x5e7a1ce0;
  const tekRand = seq(0x20, 16);
  const cases = [];
  for (const { profile, tekLen } of MATRIX_PROFILES) {
    for (const tgkLen of [16, 32]) {
      for (const derivation of ["alt1", "alt2"] as const) {
        for (const layout of MATRIX_LAYOUTS) {
          const tgk = seq(0x40 + tgkLen + tekLen, tgkLen);
          const tgkId = 0x0102;
          const rand = seq(0xa0 + layout.randBytes, layout.randBytes);
          const mki = concat(u32be(tgkId).subarray(4 - layout.tgkIdBytes), rand);
          const { tek, salt } = derivation === "alt1"
            ? refTekSalt(tgk, 1, csbId, tekRand, tekLen, 14, rand)
            : refAlt2(tgk, 1, csbId, rand, tekRand, tekLen);
          cases.push({
            name: `${profile}, TGK ${tgkLen}, ${derivation}, MKI ${layout.tgkIdBytes}+${layout.randBytes}`,
            profile, derivation, layout, tgk: toHex(tgk), tgkId, csbId: csbId.toString(16), csId: 1, tekRand: toHex(tekRand),
            mki: toHex(mki), tek: toHex(tek), salt: toHex(salt),
          });
        }
      }
    }
  }
  return {
    description: "TEK and master salt for each cell of the MBMS service matrix (issue 15): every SRTP profile × TGK 16/32 bytes × "
      + "Alternative 1/2 × MKI layout (TGK-ID ‖ random part), cs_id 1. Generated by test/helpers/mikey-reference.ts (@noble/hashes); ours.",
    cases,
  };
}
