// The MIKEY PRF "MIKEY-1" (RFC 3830 §4.1.2) and the key derivations built on it (§4.1.3 from the TGK,
// §4.1.4 from the PSK/envelope key; docs/key-derivation.md §3 for our Alternatives 1 and 2).
//
//   P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label),  A_0 = label, A_i = HMAC(s, A_{i-1})
//   PRF(inkey, label) = first outLen bytes of P(s_1, label, m) XOR ... XOR P(s_n, label, m)
//
// with HMAC-SHA1, inkey cut into 256-bit (32-byte) pieces s_1..s_n (the last one possibly shorter, so
// n = ceil(len / 32): a 32- or 64-byte inkey has exactly 1 or 2 full pieces, NOT an extra empty one as
// minisip's `len % 32` computes, docs/key-derivation.md §1) and m = ceil(outLen / 20).
//
// Everything lives in static scratch (no allocation) and is zeroed before each export returns. Lengths
// and constants are parameters (public); loops run on them only, never on loaded (secret) bytes.
import { hmacKeyStates, hmacSha1At, hmacWipeScratch } from "./hmac";

/** Longest label (const || cs_id || CSB_ID || RAND || ...): RAND is at most 255 bytes (§6.11). */
export const MIKEY_LABEL_MAX: u32 = 512;
/** Longest PRF output, and longest SK-TGK (Alternative 2). */
export const MIKEY_OUT_MAX: u32 = 256;

// HMAC inner/outer states of the current inkey piece (2 x 20 bytes).
const KS: usize = memory.data(40, 16);
// A_i at [0, 20), the label right after it: HMAC(s, A_i || label) hashes one contiguous run.
const MSG: usize = memory.data(20 + MIKEY_LABEL_MAX, 16);
const LABEL: usize = MSG + 20;
// One HMAC(s, A_i || label) block of P.
const DIG: usize = memory.data(20, 16);
// SK-TGK of Alternative 2: derived and consumed inside the core, never written out.
const SK: usize = memory.data(MIKEY_OUT_MAX, 16);

// XORs the first `outLen` bytes of P(s, label, m) into `out`, s being the piece keyed into KS and the
// label the `labelLen` bytes at LABEL (RFC 3830 §4.1.2).
function xorP(labelLen: u32, out: usize, outLen: u32): void {
  hmacSha1At(KS, LABEL, labelLen, MSG); // A_1 = HMAC(s, A_0), A_0 = label
  for (let done: u32 = 0; done < outLen; done += 20) {
    if (done > 0) hmacSha1At(KS, MSG, 20, MSG); // A_i = HMAC(s, A_{i-1})
    hmacSha1At(KS, MSG, 20 + labelLen, DIG); // HMAC(s, A_i || label)
    const n: u32 = min<u32>(20, outLen - done);
    const o = out + <usize>done;
    for (let j: usize = 0; j < <usize>n; j++) store<u8>(o + j, load<u8>(o + j) ^ load<u8>(DIG + j));
  }
}

// Keys KS with inkey piece s_i: bytes [at, at + 32) of the inkey, or what is left of it (§4.1.2).
// @ts-ignore: decorator
@inline function keyPiece(inkey: usize, inkeyLen: u32, at: u32): void {
  hmacKeyStates(KS, inkey + <usize>at, min<u32>(32, inkeyLen - at));
}

// PRF(inkey, label at LABEL) to `out`.
function prfInto(inkey: usize, inkeyLen: u32, labelLen: u32, out: usize, outLen: u32): void {
  memory.fill(out, 0, outLen);
  for (let at: u32 = 0; at < inkeyLen; at += 32) {
    keyPiece(inkey, inkeyLen, at);
    xorP(labelLen, out, outLen);
  }
}

// Two PRF outputs under one inkey, labels c1 || tail and c2 || tail (tail already at LABEL + 4): each
// piece is keyed once for both. The constants go in big-endian (network order, §4.1.3).
function pairInto(
  inkey: usize, inkeyLen: u32, c1: u32, c2: u32, tailLen: u32, out1: usize, len1: u32, out2: usize, len2: u32,
): void {
  memory.fill(out1, 0, len1);
  memory.fill(out2, 0, len2);
  for (let at: u32 = 0; at < inkeyLen; at += 32) {
    keyPiece(inkey, inkeyLen, at);
    store<u32>(LABEL, bswap<u32>(c1));
    xorP(4 + tailLen, out1, len1);
    store<u32>(LABEL, bswap<u32>(c2));
    xorP(4 + tailLen, out2, len2);
  }
}

/** PRF(inkey, label) (RFC 3830 §4.1.2): `outLen` bytes to `out`. labelLen ≤ MIKEY_LABEL_MAX. */
export function mikeyPrf(inkey: usize, inkeyLen: u32, label: usize, labelLen: u32, out: usize, outLen: u32): void {
  memory.copy(LABEL, label, labelLen);
  prfInto(inkey, inkeyLen, labelLen, out, outLen);
  mikeyWipeScratch();
}

/**
 * Two keys of the §4.1.3/§4.1.4 form `PRF(inkey, const || tail)` with tail = cs_id || CSB_ID || RAND
 * (|| TEK_RAND2 for Alternative 1): c1's to out1 (len1 bytes), c2's to out2, e.g. TEK and salt.
 */
export function mikeyDerivePair(
  inkey: usize, inkeyLen: u32, c1: u32, c2: u32, tail: usize, tailLen: u32,
  out1: usize, len1: u32, out2: usize, len2: u32,
): void {
  memory.copy(LABEL + 4, tail, tailLen);
  pairInto(inkey, inkeyLen, c1, c2, tailLen, out1, len1, out2, len2);
  mikeyWipeScratch();
}

/**
 * Alternative 2 (docs/key-derivation.md §3): SK-TGK = PRF(TGK, skLabel) (`skLen` bytes, kept in the core), then
 * the pair derivation of mikeyDerivePair from SK-TGK. skLabel = C_SK || 0xFF || CSB_ID || TGK_RAND.
 */
export function mikeyDerivePairSk(
  tgk: usize, tgkLen: u32, skLabel: usize, skLabelLen: u32, skLen: u32,
  c1: u32, c2: u32, tail: usize, tailLen: u32, out1: usize, len1: u32, out2: usize, len2: u32,
): void {
  memory.copy(LABEL, skLabel, skLabelLen);
  prfInto(tgk, tgkLen, skLabelLen, SK, skLen);
  memory.copy(LABEL + 4, tail, tailLen);
  pairInto(SK, skLen, c1, c2, tailLen, out1, len1, out2, len2);
  mikeyWipeScratch();
}

/** Zeroes the PRF's scratch (piece states, A_i, label, SK-TGK) and the HMAC/SHA-1 scratch. */
export function mikeyWipeScratch(): void {
  memory.fill(KS, 0, 40);
  memory.fill(MSG, 0, 20 + MIKEY_LABEL_MAX);
  memory.fill(DIG, 0, 20);
  memory.fill(SK, 0, MIKEY_OUT_MAX);
  hmacWipeScratch();
}

export function mikeyLabelMax(): u32 { return MIKEY_LABEL_MAX; }
export function mikeyOutMax(): u32 { return MIKEY_OUT_MAX; }
