// Constant-time bitsliced AES encryption core, written once over a lane type T:
//   T = u64  : 4 blocks per batch (the scalar build)
//   T = v128 : 8 blocks per batch (the SIMD build)
// The algorithm follows BearSSL's aes_ct64 (T. Pornin): 8 words q[0..7], q[k] holding bit k of every
// state byte of the batch; the S-box is the Boyar-Peralta 113-gate circuit (as BearSSL's; the depth-16
// one of eprint 2011/332 has 128 gates and measured no faster: the round is throughput-bound in V8),
// evaluated as plain boolean operations; MixColumns is BearSSL's rotation formula.
// There is no table lookup, and no branch, select or address that depends on key or data: only on
// public values (round number, batch index, lengths).
//
// Bit layouts (the code below is shared; only the tiny helpers IN, OUT, SR, SRN, ROT1, ROT2 differ):
//  * u64 (ct64): bit 16*r + 4*c + b of q[k] is bit k of the byte at row r, column c of block b.
//    ROT1 / ROT2 ("next row" / "row after next") are 16- and 32-bit rotations of the word, combined
//    with a rotation of the columns in the fixsliced frames (see ROT1; ShiftRows is not computed).
//  * v128 (byte-sliced, as Kasper-Schwabe): byte 4*r + c (row-major) of q[k] holds bit k of byte
//    (c, r) of the 8 blocks (bit b = block b). Loading: q[b] = block b with its 4x4 bytes transposed
//    (TR, one pshufb), then the same ortho transpose. ROT1 / ROT2 are then whole-row moves, one
//    pshufd with an immediate each (no mask register, no saturating add as V8 emits for swizzles
//    by a non-constant mask); ShiftRows is one pshufb per plane by a constant mask.

// ---- lane helpers: every one is a single operation (or a tiny fixed sequence) for both T ----------

// @ts-ignore: decorator
@inline function X<T>(a: T, b: T): T {
  if (isVector<T>()) return <T>v128.xor(<v128>a, <v128>b); else return <T>(a ^ b);
}
// @ts-ignore: decorator
@inline function A<T>(a: T, b: T): T {
  if (isVector<T>()) return <T>v128.and(<v128>a, <v128>b); else return <T>(a & b);
}
// @ts-ignore: decorator
@inline function O<T>(a: T, b: T): T {
  if (isVector<T>()) return <T>v128.or(<v128>a, <v128>b); else return <T>(a | b);
}
// Per-64-bit-lane shifts by a constant.
// @ts-ignore: decorator
@inline function SHL<T>(a: T, n: i32): T {
  if (isVector<T>()) return <T>i64x2.shl(<v128>a, n); else return <T>(a << <u64>n);
}
// @ts-ignore: decorator
@inline function SHR<T>(a: T, n: i32): T {
  if (isVector<T>()) return <T>i64x2.shr_u(<v128>a, n); else return <T>(a >> <u64>n);
}
// A 64-bit constant replicated in every lane.
// @ts-ignore: decorator
@inline function K<T>(c: u64): T {
  if (isVector<T>()) return <T>i64x2.splat(<i64>c); else return <T>c;
}
// u64: byte (r, c) of every block takes the value of byte (r + rows, c + cols), indices mod 4.
// @ts-ignore: decorator
@inline function RC(x: u64, rows: u32, cols: u32): u64 {
  const n = <u64>((rows << 4) + (cols << 2));
  const m = <u64>(0xFFFF >> (cols << 2)) * 0x0001000100010001; // the columns that do not wrap
  return (rotr<u64>(x, n) & m) | (rotr<u64>(x, n - 16) & ~m);
}
// MixColumns helpers for round u. ROT1: every byte takes the value of the next row of its column;
// ROT2: of the row two further on. v128 (row-major byte layout, below): rotate the vector by 4 / 8
// bytes, one pshufd each. u64 is fixsliced (Adomnicai-Peyrin, TCHES 2021/1): ShiftRows is never
// applied, round u keeps the state in the frame SR^-u (its round key is pre-permuted so by
// aesSetKey), where the column's next row sits at row + 1, column + u and the one after at row + 2,
// column + 2u. The rotation counts depend on the public round number only.
// @ts-ignore: decorator
@inline function ROT1<T>(a: T, u: u32): T {
  if (isVector<T>()) return <T>i8x16.shuffle(<v128>a, <v128>a, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
  else return <T>RC(<u64>a, 1, u & 3);
}
// @ts-ignore: decorator
@inline function ROT2<T>(a: T, u: u32): T {
  if (isVector<T>()) return <T>i8x16.shuffle(<v128>a, <v128>a, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  else return <T>RC(<u64>a, 2, (u << 1) & 2);
}
// v128: transposes the 4x4 bytes of a block (column-major FIPS order <-> row-major); an involution.
// @ts-ignore: decorator
@inline function TR(x: v128): v128 {
  return v128.swizzle(x, i8x16(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
}

// ShiftRows on one bit plane in the rounds. v128 (row-major): row r rotates left by r bytes, one
// pshufb by a constant mask (no saturating add in V8, and the mask stays in a register). u64: none
// (fixsliced, see ROT1).
// @ts-ignore: decorator
@inline function SR<T>(x: T): T {
  if (isVector<T>()) return <T>v128.swizzle(<v128>x, i8x16(0, 1, 2, 3, 5, 6, 7, 4, 10, 11, 8, 9, 15, 12, 13, 14));
  return x;
}
// ShiftRows of the last round (its key is not permuted): v128 as above; u64 leaves the frame
// SR^-rounds, i.e. applies ShiftRows^2 (rows 1 and 3 by two columns) for 10 or 14 rounds and nothing
// for 12 (and for aesSetKey's one-round SubWord, whose four columns are equal).
// @ts-ignore: decorator
@inline function SRN<T>(x: T, rounds: u32): T {
  if (isVector<T>()) return SR<T>(x);
  const v = <u64>x;
  const sr2 = (v & 0x0000FFFF0000FFFF) | (RC(v, 0, 2) & 0xFFFF0000FFFF0000);
  return <T>((rounds & 2) != 0 ? sr2 : v);
}

// u64 load / store helpers: BearSSL interleave_in / interleave_out (q[i] holds the bytes of words
// 0 and 2 of block i, byte-interleaved; q[i+4] those of words 1 and 3).
// @ts-ignore: decorator
@inline function spread<T>(w: u32): u64 { // byte k of w -> byte 2k
  let x = <u64>w;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFF;
  return (x | (x << 8)) & 0x00FF00FF00FF00FF;
}
// Initial word q[k] of a batch at p. u64: q[i] / q[i+4] interleave words 0,2 / 1,3 of block i.
// v128: no interleaving at all, q[k] is simply block k (the ortho transpose does the rest).
// @ts-ignore: decorator
@inline function IN<T>(p: usize, k: i32): T {
  if (isVector<T>()) return <T>TR(v128.load(p + (<usize>k << 4)));
  const o: usize = (<usize>(k & 3) << 4) + (k >= 4 ? 4 : 0);
  return <T>(spread<T>(load<u32>(p + o)) | (spread<T>(load<u32>(p + o + 8)) << 8));
}
// @ts-ignore: decorator
@inline function squeeze(x: u64): u32 { // even bytes of x -> u32 (inverse of spread)
  x &= 0x00FF00FF00FF00FF;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFF;
  return <u32>x | <u32>(x >> 16);
}
// Stores words q[i] and q[i+4] (after the final ortho) as bytes: block i (u64) or blocks i and i+4;
// with x = true the bytes are XORed into what is at p instead (counter mode).
// @ts-ignore: decorator
@inline function OUT<T>(p: usize, i: i32, lo: T, hi: T, x: bool): void {
  if (isVector<T>()) {
    const p0 = p + (<usize>i << 4), p1 = p0 + 64;
    let v0 = <v128>lo, v1 = <v128>hi;
    if (x) { v0 = v128.xor(v0, v128.load(p0)); v1 = v128.xor(v1, v128.load(p1)); }
    v128.store(p0, v0);
    v128.store(p1, v1);
  } else {
    let a = <u64>lo, b = <u64>hi, q = p + (<usize>i << 4);
    let w0 = squeeze(a), w1 = squeeze(b), w2 = squeeze(a >> 8), w3 = squeeze(b >> 8);
    if (x) {
      w0 ^= load<u32>(q); w1 ^= load<u32>(q, 4); w2 ^= load<u32>(q, 8); w3 ^= load<u32>(q, 12);
    }
    store<u32>(q, w0); store<u32>(q, w1, 4); store<u32>(q, w2, 8); store<u32>(q, w3, 12);
  }
}

// Word k of a batch's state after round 1's SubBytes (aesBatchFrom1): the shared word at p with
// bytes 4r + g of the word at p + 256 moved to 4r + 3 (swizzle indices >= 16 give 0).
// @ts-ignore: decorator
@inline function P1(p: usize, k: usize, g: u32): v128 {
  const pick = v128.or(i8x16(-128, -128, -128, 0, -128, -128, -128, 4, -128, -128, -128, 8, -128, -128, -128, 12),
    v128.and(i8x16.splat(<i8>g), i32x4.splat(0xFF000000)));
  return v128.or(v128.load(p + (k << 4)), v128.swizzle(v128.load(p + 256 + (k << 4)), pick));
}

export const BATCH_STORE: u32 = 0, BATCH_XOR: u32 = 1, BATCH_RAW: u32 = 2, BATCH_SUB1: u32 = 4;

/**
 * Encrypts one batch (4 blocks for u64, 8 for v128) of 16-byte blocks from `inp` to `out` (may be
 * equal) with the bitsliced round keys at `skey` (rounds+1 keys of 8 words of T each).
 * mode BATCH_STORE writes the ciphertext to `out`, BATCH_XOR XORs it into `out` (counter mode).
 * With BATCH_RAW it only bitslices the input and stores the 8 words of T at `out` (used by the
 * key schedule to produce bitsliced round keys). Counter mode's round-1 shortcut (aes.ts) uses two
 * more: BATCH_SUB1 (with rounds = 1) stores the 8 words right after round 1's SubBytes at `out`;
 * aesBatchFrom1 (mode BATCH_STORE or BATCH_XOR, v128 only) starts from such words: at `inp` the
 * 8 words shared by all batches (column 3 zero), at inp + 256 8 words whose column g is this batch's
 * column 3 (see aesCmXorSimd in aes.ts).
 */
export function aesBatch<T>(skey: usize, rounds: u32, inp: usize, out: usize, mode: u32): void {
  batch<T>(skey, rounds, inp, out, mode, false);
}
export function aesBatchFrom1<T>(skey: usize, rounds: u32, inp: usize, g: u32, out: usize, mode: u32): void {
  batch<T>(skey, rounds, inp, out, mode, true, g);
}

// The kernel of both: `from1` is a constant in each, so neither has a branch on it.
// @ts-ignore: decorator
@inline function batch<T>(skey: usize, rounds: u32, inp: usize, out: usize, mode: u32, from1: bool, g: u32 = 0): void {
  const S = sizeof<T>();
  let q0: T, q1: T, q2: T, q3: T, q4: T, q5: T, q6: T, q7: T, t: T;
  if (isVector<T>() && from1) {
    q0 = <T>P1(inp, 0, g); q1 = <T>P1(inp, 1, g); q2 = <T>P1(inp, 2, g); q3 = <T>P1(inp, 3, g);
    q4 = <T>P1(inp, 4, g); q5 = <T>P1(inp, 5, g); q6 = <T>P1(inp, 6, g); q7 = <T>P1(inp, 7, g);
  } else {
    q0 = IN<T>(inp, 0); q1 = IN<T>(inp, 1); q2 = IN<T>(inp, 2); q3 = IN<T>(inp, 3);
    q4 = IN<T>(inp, 4); q5 = IN<T>(inp, 5); q6 = IN<T>(inp, 6); q7 = IN<T>(inp, 7);
  }

  // ortho: transpose so that q[k] holds bit k of every byte (swapmove form of BearSSL's SWAPN).
  // It is its own inverse, so one copy serves both ways: pass 0 bitslices the input and runs the
  // cipher below, pass 1 transposes the result back to bytes.
  for (let pass = 0; pass < 2; pass++) {
    const m1 = K<T>(0x5555555555555555), m2 = K<T>(0x3333333333333333), m4 = K<T>(0x0F0F0F0F0F0F0F0F);
    if (pass == 1 || !from1) {
      t = A<T>(X<T>(SHR<T>(q0, 1), q1), m1); q1 = X<T>(q1, t); q0 = X<T>(q0, SHL<T>(t, 1));
      t = A<T>(X<T>(SHR<T>(q2, 1), q3), m1); q3 = X<T>(q3, t); q2 = X<T>(q2, SHL<T>(t, 1));
      t = A<T>(X<T>(SHR<T>(q4, 1), q5), m1); q5 = X<T>(q5, t); q4 = X<T>(q4, SHL<T>(t, 1));
      t = A<T>(X<T>(SHR<T>(q6, 1), q7), m1); q7 = X<T>(q7, t); q6 = X<T>(q6, SHL<T>(t, 1));
      t = A<T>(X<T>(SHR<T>(q0, 2), q2), m2); q2 = X<T>(q2, t); q0 = X<T>(q0, SHL<T>(t, 2));
      t = A<T>(X<T>(SHR<T>(q1, 2), q3), m2); q3 = X<T>(q3, t); q1 = X<T>(q1, SHL<T>(t, 2));
      t = A<T>(X<T>(SHR<T>(q4, 2), q6), m2); q6 = X<T>(q6, t); q4 = X<T>(q4, SHL<T>(t, 2));
      t = A<T>(X<T>(SHR<T>(q5, 2), q7), m2); q7 = X<T>(q7, t); q5 = X<T>(q5, SHL<T>(t, 2));
      t = A<T>(X<T>(SHR<T>(q0, 4), q4), m4); q4 = X<T>(q4, t); q0 = X<T>(q0, SHL<T>(t, 4));
      t = A<T>(X<T>(SHR<T>(q1, 4), q5), m4); q5 = X<T>(q5, t); q1 = X<T>(q1, SHL<T>(t, 4));
      t = A<T>(X<T>(SHR<T>(q2, 4), q6), m4); q6 = X<T>(q6, t); q2 = X<T>(q2, SHL<T>(t, 4));
      t = A<T>(X<T>(SHR<T>(q3, 4), q7), m4); q7 = X<T>(q7, t); q3 = X<T>(q3, SHL<T>(t, 4));
    }
    if (pass == 1) break;

    if (mode == BATCH_RAW) {
      store<T>(out, q0); store<T>(out, q1, S); store<T>(out, q2, 2 * S); store<T>(out, q3, 3 * S);
      store<T>(out, q4, 4 * S); store<T>(out, q5, 5 * S); store<T>(out, q6, 6 * S); store<T>(out, q7, 7 * S);
      return;
    }

    // ---- the cipher: AddRoundKey, then rounds of SubBytes / ShiftRows / MixColumns / AddRoundKey ----
    let k = skey;
    if (!from1) {
      q0 = X<T>(q0, load<T>(k)); q1 = X<T>(q1, load<T>(k, S)); q2 = X<T>(q2, load<T>(k, 2 * S));
      q3 = X<T>(q3, load<T>(k, 3 * S)); q4 = X<T>(q4, load<T>(k, 4 * S)); q5 = X<T>(q5, load<T>(k, 5 * S));
      q6 = X<T>(q6, load<T>(k, 6 * S)); q7 = X<T>(q7, load<T>(k, 7 * S));
    }
    let u: u32 = 1;
    for (; ; u++) {
      k += 8 * S;
      // SubBytes: the Boyar-Peralta 113-gate circuit (eprint 2009/191; as in BearSSL's aes_ct64).
      // x0 is the most significant bit (q7). The four complemented outputs (bits 6, 5, 1, 0) are NOT
      // negated here: the complement is folded into the round keys by the key schedule (see aes.ts).
      if (u != 1 || !from1) {
        const x0 = q7, x1 = q6, x2 = q5, x3 = q4, x4 = q3, x5 = q2, x6 = q1, x7 = q0;
        // top linear transformation
        const y14 = X<T>(x3, x5), y13 = X<T>(x0, x6), y9 = X<T>(x0, x3), y8 = X<T>(x0, x5);
        const t0 = X<T>(x1, x2), y1 = X<T>(t0, x7), y4 = X<T>(y1, x3), y12 = X<T>(y13, y14);
        const y2 = X<T>(y1, x0), y5 = X<T>(y1, x6), y3 = X<T>(y5, y8), t1 = X<T>(x4, y12);
        const y15 = X<T>(t1, x5), y20 = X<T>(t1, x1), y6 = X<T>(y15, x7), y10 = X<T>(y15, t0);
        const y11 = X<T>(y20, y9), y7 = X<T>(x7, y11), y17 = X<T>(y10, y11), y19 = X<T>(y10, y8);
        const y16 = X<T>(t0, y11), y21 = X<T>(y13, y16), y18 = X<T>(x0, y16);
        // non-linear section
        const t2 = A<T>(y12, y15), t3 = A<T>(y3, y6), t4 = X<T>(t3, t2), t5 = A<T>(y4, x7);
        const t6 = X<T>(t5, t2), t7 = A<T>(y13, y16), t8 = A<T>(y5, y1), t9 = X<T>(t8, t7);
        const t10 = A<T>(y2, y7), t11 = X<T>(t10, t7), t12 = A<T>(y9, y11), t13 = A<T>(y14, y17);
        const t14 = X<T>(t13, t12), t15 = A<T>(y8, y10), t16 = X<T>(t15, t12), t17 = X<T>(t4, t14);
        const t18 = X<T>(t6, t16), t19 = X<T>(t9, t14), t20 = X<T>(t11, t16), t21 = X<T>(t17, y20);
        const t22 = X<T>(t18, y19), t23 = X<T>(t19, y21), t24 = X<T>(t20, y18);
        const t25 = X<T>(t21, t22), t26 = A<T>(t21, t23), t27 = X<T>(t24, t26), t28 = A<T>(t25, t27);
        const t29 = X<T>(t28, t22), t30 = X<T>(t23, t24), t31 = X<T>(t22, t26), t32 = A<T>(t31, t30);
        const t33 = X<T>(t32, t24), t34 = X<T>(t23, t33), t35 = X<T>(t27, t33), t36 = A<T>(t24, t35);
        const t37 = X<T>(t36, t34), t38 = X<T>(t27, t36), t39 = A<T>(t29, t38), t40 = X<T>(t25, t39);
        const t41 = X<T>(t40, t37), t42 = X<T>(t29, t33), t43 = X<T>(t29, t40), t44 = X<T>(t33, t37);
        const t45 = X<T>(t42, t41);
        const z0 = A<T>(t44, y15), z1 = A<T>(t37, y6), z2 = A<T>(t33, x7), z3 = A<T>(t43, y16);
        const z4 = A<T>(t40, y1), z5 = A<T>(t29, y7), z6 = A<T>(t42, y11), z7 = A<T>(t45, y17);
        const z8 = A<T>(t41, y10), z9 = A<T>(t44, y12), z10 = A<T>(t37, y3), z11 = A<T>(t33, y4);
        const z12 = A<T>(t43, y13), z13 = A<T>(t40, y5), z14 = A<T>(t29, y2), z15 = A<T>(t42, y9);
        const z16 = A<T>(t45, y14), z17 = A<T>(t41, y8);
        // bottom linear transformation
        const t46 = X<T>(z15, z16), t47 = X<T>(z10, z11), t48 = X<T>(z5, z13), t49 = X<T>(z9, z10);
        const t50 = X<T>(z2, z12), t51 = X<T>(z2, z5), t52 = X<T>(z7, z8), t53 = X<T>(z0, z3);
        const t54 = X<T>(z6, z7), t55 = X<T>(z16, z17), t56 = X<T>(z12, t48), t57 = X<T>(t50, t53);
        const t58 = X<T>(z4, t46), t59 = X<T>(z3, t54), t60 = X<T>(t46, t57), t61 = X<T>(z14, t57);
        const t62 = X<T>(t52, t58), t63 = X<T>(t49, t58), t64 = X<T>(z4, t59), t65 = X<T>(t61, t62);
        const t66 = X<T>(z1, t63), t67 = X<T>(t64, t65);
        q7 = X<T>(t59, t63);        // s0
        q4 = X<T>(t53, t66);        // s3
        q6 = X<T>(t64, q4);         // ~s1
        q5 = X<T>(t55, t67);        // ~s2
        q3 = X<T>(t51, t66);        // s4
        q2 = X<T>(t47, t65);        // s5
        q1 = X<T>(t56, t62);        // ~s6
        q0 = X<T>(t48, t60);        // ~s7
      }

      if (u == rounds) break; // (the loop body has no other branch: better register allocation)
      {
        // ShiftRows + MixColumns + AddRoundKey, streamed plane by plane to keep few values live (V8 has 15 vector
        // registers). With r = ROT1(q), a = q ^ r (BearSSL ct64 mix_columns):
        //   q'[k] = a[k-1] ^ r[k] ^ ROT2(a[k])  (^ a[7] for k = 1, 3, 4; a[-1] = a[7])
        // The round key is XORed in off the critical path (s -> r -> a -> ROT2(a) -> q').
        let s7 = SR<T>(q7), r7 = ROT1<T>(s7, u), a7 = X<T>(s7, r7);
        let s = SR<T>(q0), r = ROT1<T>(s, u), a = X<T>(s, r);
        q0 = X<T>(X<T>(X<T>(a7, load<T>(k)), r), ROT2<T>(a, u));
        s = SR<T>(q1); r = ROT1<T>(s, u); let p = a; a = X<T>(s, r);
        q1 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, S))), ROT2<T>(a, u));
        s = SR<T>(q2); r = ROT1<T>(s, u); p = a; a = X<T>(s, r);
        q2 = X<T>(X<T>(X<T>(p, load<T>(k, 2 * S)), r), ROT2<T>(a, u));
        s = SR<T>(q3); r = ROT1<T>(s, u); p = a; a = X<T>(s, r);
        q3 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, 3 * S))), ROT2<T>(a, u));
        s = SR<T>(q4); r = ROT1<T>(s, u); p = a; a = X<T>(s, r);
        q4 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, 4 * S))), ROT2<T>(a, u));
        s = SR<T>(q5); r = ROT1<T>(s, u); p = a; a = X<T>(s, r);
        q5 = X<T>(X<T>(X<T>(p, load<T>(k, 5 * S)), r), ROT2<T>(a, u));
        s = SR<T>(q6); r = ROT1<T>(s, u); p = a; a = X<T>(s, r);
        q6 = X<T>(X<T>(X<T>(p, load<T>(k, 6 * S)), r), ROT2<T>(a, u));
        q7 = X<T>(X<T>(X<T>(a, load<T>(k, 7 * S)), r7), ROT2<T>(a7, u));
      }
    }
    if (mode == BATCH_SUB1) {
      store<T>(out, q0); store<T>(out, q1, S); store<T>(out, q2, 2 * S); store<T>(out, q3, 3 * S);
      store<T>(out, q4, 4 * S); store<T>(out, q5, 5 * S); store<T>(out, q6, 6 * S); store<T>(out, q7, 7 * S);
      return;
    }
    // last round (its SubBytes done above): ShiftRows and AddRoundKey only
    q0 = X<T>(SRN<T>(q0, rounds), load<T>(k)); q1 = X<T>(SRN<T>(q1, rounds), load<T>(k, S));
    q2 = X<T>(SRN<T>(q2, rounds), load<T>(k, 2 * S)); q3 = X<T>(SRN<T>(q3, rounds), load<T>(k, 3 * S));
    q4 = X<T>(SRN<T>(q4, rounds), load<T>(k, 4 * S)); q5 = X<T>(SRN<T>(q5, rounds), load<T>(k, 5 * S));
    q6 = X<T>(SRN<T>(q6, rounds), load<T>(k, 6 * S)); q7 = X<T>(SRN<T>(q7, rounds), load<T>(k, 7 * S));
    if (isVector<T>()) { // back to the column-major byte order (TR commutes with ortho)
      q0 = <T>TR(<v128>q0); q1 = <T>TR(<v128>q1); q2 = <T>TR(<v128>q2); q3 = <T>TR(<v128>q3);
      q4 = <T>TR(<v128>q4); q5 = <T>TR(<v128>q5); q6 = <T>TR(<v128>q6); q7 = <T>TR(<v128>q7);
    }
  }

  // back to bytes
  if (mode == BATCH_XOR) {
    OUT<T>(out, 0, q0, q4, true); OUT<T>(out, 1, q1, q5, true);
    OUT<T>(out, 2, q2, q6, true); OUT<T>(out, 3, q3, q7, true);
  } else {
    OUT<T>(out, 0, q0, q4, false); OUT<T>(out, 1, q1, q5, false);
    OUT<T>(out, 2, q2, q6, false); OUT<T>(out, 3, q3, q7, false);
  }
}
