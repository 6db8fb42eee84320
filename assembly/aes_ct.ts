// Constant-time bitsliced AES encryption core, written once over a lane type T:
//   T = u64  : 4 blocks per batch (the scalar build)
//   T = v128 : 8 blocks per batch (the SIMD build)
// The algorithm follows BearSSL's aes_ct64 (T. Pornin): 8 words q[0..7], q[k] holding bit k of every
// state byte of the batch; the S-box is the Boyar-Peralta 113-gate circuit (eprint 2009/191, as in
// br_aes_ct64_bitslice_Sbox; see also Adomnicai-Peyrin, "Fixslicing AES", for the bitsliced AES
// family), evaluated as plain boolean operations; MixColumns is BearSSL's rotation formula.
// There is no table lookup, and no branch, select or address that depends on key or data: only on
// public values (round number, batch index, lengths).
//
// Bit layouts (the code below is shared; only the tiny helpers IN, OUT, SR, ROT1, ROT2 differ):
//  * u64 (ct64): bit 16*r + 4*c + b of q[k] is bit k of the byte at row r, column c of block b.
//    ShiftRows rotates the 16-bit row r by 4*r bits; ROT1 / ROT2 ("next row" / "row after next")
//    are 16- and 32-bit rotations of the word.
//  * v128 (byte-sliced, as Kasper-Schwabe): byte 4*c + r of q[k] holds bit k of byte (c, r) of the
//    8 blocks (bit b = block b). Loading is plain: q[b] = block b, then the same ortho transpose.
//    ROT1 / ROT2 are one byte shuffle each, and ShiftRows is not executed at all (see MASKS).

// ---- lane helpers: every one is a single operation (or a tiny fixed sequence) for both T ----------

// @ts-ignore: decorator
@inline function X<T>(a: T, b: T): T {
  if (isVector<T>()) return <T>v128.xor(<v128>a, <v128>b); else return <T>(a ^ b);
}
// @ts-ignore: decorator
@inline function A<T>(a: T, b: T): T {
  if (isVector<T>()) return <T>v128.and(<v128>a, <v128>b); else return <T>(a & b);
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
// MixColumns helpers. ROT1: every byte takes the value of the next row of its column; ROT2: of the
// row two further on. u64 (ct64 layout): rotate the lane by 16 / 32 bits; the mask m is unused.
// v128 (byte layout): one i8x16.swizzle (pshufb) by a mask m that depends on the round (see MASKS).
// @ts-ignore: decorator
@inline function ROT1<T>(a: T, m: T): T {
  if (isVector<T>()) return <T>v128.swizzle(<v128>a, <v128>m);
  else return <T>rotr<u64>(<u64>a, 16);
}
// @ts-ignore: decorator
@inline function ROT2<T>(a: T, m: T): T {
  if (isVector<T>()) return <T>v128.swizzle(<v128>a, <v128>m);
  else return <T>rotr<u64>(<u64>a, 32);
}
// v128 only: a table of swizzle masks (48 bytes per phase t = round mod 4: ROT1, ROT2, FIN).
// In the v128 byte layout (byte 4c+r of a plane = state byte at column c, row r) ShiftRows is a pure
// byte permutation, so it is never executed: after u rounds the state byte (c, r) simply lives at
// position (c + u*r mod 4, r). MixColumns then reads its rows through the conjugated masks
//   ROT1_t: (c, r) <- (c + t, r + 1),   ROT2_t: (c, r) <- (c + 2t, r + 2),
// round key u is stored already permuted the same way (aes.ts), and FIN_t: (c, r) <- (c + t*r, r)
// puts the bytes back in place once, after the last round.
// @ts-ignore: decorator
@inline function MASKS(): usize {
  return memory.data<u8>([
    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0,
    10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5,
    0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11,
    9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4,
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
    0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12, 5, 14, 7,
    13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8,
    10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5,
    0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3,
  ], 16);
}
// Mask number n (0 ROT1, 1 ROT2, 2 FIN) of phase t, as a T (v128 only; 0 for u64).
// @ts-ignore: decorator
@inline function MASK<T>(t: u32, n: u32): T {
  if (isVector<T>()) return <T>v128.load(MASKS() + <usize>(t * 48 + n * 16));
  else return <T>0;
}

// ShiftRows on one bit plane (u64 ct64 layout only; for v128 it is absorbed in the layout, above).
// @ts-ignore: decorator
@inline function SR<T>(x: T): T {
  if (isVector<T>()) return x;
  // ct64 layout: row r (bits 16r..16r+15) rotates right by 4r bits.
  let v = <u64>x;
  return <T>((v & 0x000000000000FFFF)
    | ((v & 0x00000000FFF00000) >> 4) | ((v & 0x00000000000F0000) << 12)
    | ((v & 0x0000FF0000000000) >> 8) | ((v & 0x000000FF00000000) << 8)
    | ((v & 0xF000000000000000) >> 12) | ((v & 0x0FFF000000000000) << 4));
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
  if (isVector<T>()) return <T>v128.load(p + (<usize>k << 4));
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

export const BATCH_STORE: u32 = 0, BATCH_XOR: u32 = 1, BATCH_RAW: u32 = 2;

/**
 * Encrypts one batch (4 blocks for u64, 8 for v128) of 16-byte blocks from `inp` to `out` (may be
 * equal) with the bitsliced round keys at `skey` (rounds+1 keys of 8 words of T each).
 * mode BATCH_STORE writes the ciphertext to `out`, BATCH_XOR XORs it into `out` (counter mode).
 * With BATCH_RAW it only bitslices the input and stores the 8 words of T at `out` (used by the
 * key schedule to produce bitsliced round keys).
 */
export function aesBatch<T>(skey: usize, rounds: u32, inp: usize, out: usize, mode: u32): void {
  const S = sizeof<T>();
  let q0 = IN<T>(inp, 0), q1 = IN<T>(inp, 1), q2 = IN<T>(inp, 2), q3 = IN<T>(inp, 3);
  let q4 = IN<T>(inp, 4), q5 = IN<T>(inp, 5), q6 = IN<T>(inp, 6), q7 = IN<T>(inp, 7);
  let t: T;

  // ortho: transpose so that q[k] holds bit k of every byte (swapmove form of BearSSL's SWAPN).
  // It is its own inverse, so one copy serves both ways: pass 0 bitslices the input and runs the
  // cipher below, pass 1 transposes the result back to bytes.
  for (let pass = 0; pass < 2; pass++) {
    const m1 = K<T>(0x5555555555555555), m2 = K<T>(0x3333333333333333), m4 = K<T>(0x0F0F0F0F0F0F0F0F);
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
    if (pass == 1) break;

    if (mode == BATCH_RAW) {
      store<T>(out, q0); store<T>(out, q1, S); store<T>(out, q2, 2 * S); store<T>(out, q3, 3 * S);
      store<T>(out, q4, 4 * S); store<T>(out, q5, 5 * S); store<T>(out, q6, 6 * S); store<T>(out, q7, 7 * S);
      return;
    }

    // ---- the cipher: AddRoundKey, then rounds of SubBytes / ShiftRows / MixColumns / AddRoundKey ----
    let k = skey;
    q0 = X<T>(q0, load<T>(k)); q1 = X<T>(q1, load<T>(k, S)); q2 = X<T>(q2, load<T>(k, 2 * S));
    q3 = X<T>(q3, load<T>(k, 3 * S)); q4 = X<T>(q4, load<T>(k, 4 * S)); q5 = X<T>(q5, load<T>(k, 5 * S));
    q6 = X<T>(q6, load<T>(k, 6 * S)); q7 = X<T>(q7, load<T>(k, 7 * S));
    let u: u32 = 1;
    for (; ; u++) {
      k += 8 * S;
      // SubBytes: Boyar-Peralta circuit (as in BearSSL br_aes_ct64_bitslice_Sbox). x0 is the
      // most significant bit (q7). The four complemented outputs (s1, s2, s6, s7) are NOT negated
      // here: the complement is folded into the round keys by the key schedule (see aes.ts).
      let x0 = q7, x1 = q6, x2 = q5, x3 = q4, x4 = q3, x5 = q2, x6 = q1, x7 = q0;
      // top linear layer
      let y14 = X<T>(x3, x5), y13 = X<T>(x0, x6), y9 = X<T>(x0, x3), y8 = X<T>(x0, x5);
      let t0 = X<T>(x1, x2), y1 = X<T>(t0, x7), y4 = X<T>(y1, x3), y12 = X<T>(y13, y14);
      let y2 = X<T>(y1, x0), y5 = X<T>(y1, x6), y3 = X<T>(y5, y8), t1 = X<T>(x4, y12);
      let y15 = X<T>(t1, x5), y20 = X<T>(t1, x1), y6 = X<T>(y15, x7), y10 = X<T>(y15, t0);
      let y11 = X<T>(y20, y9), y7 = X<T>(x7, y11), y17 = X<T>(y10, y11), y19 = X<T>(y10, y8);
      let y16 = X<T>(t0, y11), y21 = X<T>(y13, y16), y18 = X<T>(x0, y16);
      // non-linear middle
      let t2 = A<T>(y12, y15), t3 = A<T>(y3, y6), t4 = X<T>(t3, t2), t5 = A<T>(y4, x7);
      let t6 = X<T>(t5, t2), t7 = A<T>(y13, y16), t8 = A<T>(y5, y1), t9 = X<T>(t8, t7);
      let t10 = A<T>(y2, y7), t11 = X<T>(t10, t7), t12 = A<T>(y9, y11), t13 = A<T>(y14, y17);
      let t14 = X<T>(t13, t12), t15 = A<T>(y8, y10), t16 = X<T>(t15, t12), t17 = X<T>(t4, t14);
      let t18 = X<T>(t6, t16), t19 = X<T>(t9, t14), t20 = X<T>(t11, t16), t21 = X<T>(t17, y20);
      let t22 = X<T>(t18, y19), t23 = X<T>(t19, y21), t24 = X<T>(t20, y18);
      let t25 = X<T>(t21, t22), t26 = A<T>(t21, t23), t27 = X<T>(t24, t26), t28 = A<T>(t25, t27);
      let t29 = X<T>(t28, t22), t30 = X<T>(t23, t24), t31 = X<T>(t22, t26), t32 = A<T>(t31, t30);
      let t33 = X<T>(t32, t24), t34 = X<T>(t23, t33), t35 = X<T>(t27, t33), t36 = A<T>(t24, t35);
      let t37 = X<T>(t36, t34), t38 = X<T>(t27, t36), t39 = A<T>(t29, t38), t40 = X<T>(t25, t39);
      let t41 = X<T>(t40, t37), t42 = X<T>(t29, t33), t43 = X<T>(t29, t40), t44 = X<T>(t33, t37);
      let t45 = X<T>(t42, t41);
      let z0 = A<T>(t44, y15), z1 = A<T>(t37, y6), z2 = A<T>(t33, x7), z3 = A<T>(t43, y16);
      let z4 = A<T>(t40, y1), z5 = A<T>(t29, y7), z6 = A<T>(t42, y11), z7 = A<T>(t45, y17);
      let z8 = A<T>(t41, y10), z9 = A<T>(t44, y12), z10 = A<T>(t37, y3), z11 = A<T>(t33, y4);
      let z12 = A<T>(t43, y13), z13 = A<T>(t40, y5), z14 = A<T>(t29, y2), z15 = A<T>(t42, y9);
      let z16 = A<T>(t45, y14), z17 = A<T>(t41, y8);
      // bottom linear layer
      let t46 = X<T>(z15, z16), t47 = X<T>(z10, z11), t48 = X<T>(z5, z13), t49 = X<T>(z9, z10);
      let t50 = X<T>(z2, z12), t51 = X<T>(z2, z5), t52 = X<T>(z7, z8), t53 = X<T>(z0, z3);
      let t54 = X<T>(z6, z7), t55 = X<T>(z16, z17), t56 = X<T>(z12, t48), t57 = X<T>(t50, t53);
      let t58 = X<T>(z4, t46), t59 = X<T>(z3, t54), t60 = X<T>(t46, t57), t61 = X<T>(z14, t57);
      let t62 = X<T>(t52, t58), t63 = X<T>(t49, t58), t64 = X<T>(z4, t59), t65 = X<T>(t61, t62);
      let t66 = X<T>(z1, t63), t67 = X<T>(t64, t65);
      let s3 = X<T>(t53, t66);
      q7 = X<T>(t59, t63);        // s0
      q6 = X<T>(t64, s3);         // ~s1
      q5 = X<T>(t55, t67);        // ~s2
      q4 = s3;                    // s3
      q3 = X<T>(t51, t66);        // s4
      q2 = X<T>(t47, t65);        // s5
      q1 = X<T>(t56, t62);        // ~s6
      q0 = X<T>(t48, t60);        // ~s7

      if (u < rounds) {
        // ShiftRows + MixColumns, streamed plane by plane to keep few values live (V8 has 15 vector
        // registers). With r = ROT1(q), a = q ^ r (BearSSL ct64 mix_columns):
        //   q'[k] = a[k-1] ^ r[k] ^ ROT2(a[k])  (^ a[7] for k = 1, 3, 4; a[-1] = a[7])
        const m1 = MASK<T>(u & 3, 0), m2 = MASK<T>(u & 3, 1);
        let s7 = SR<T>(q7), r7 = ROT1<T>(s7, m1), a7 = X<T>(s7, r7);
        let s = SR<T>(q0), r = ROT1<T>(s, m1), a = X<T>(s, r);
        q0 = X<T>(X<T>(a7, r), ROT2<T>(a, m2));
        s = SR<T>(q1); r = ROT1<T>(s, m1); let p = a; a = X<T>(s, r);
        q1 = X<T>(X<T>(p, a7), X<T>(r, ROT2<T>(a, m2)));
        s = SR<T>(q2); r = ROT1<T>(s, m1); p = a; a = X<T>(s, r);
        q2 = X<T>(X<T>(p, r), ROT2<T>(a, m2));
        s = SR<T>(q3); r = ROT1<T>(s, m1); p = a; a = X<T>(s, r);
        q3 = X<T>(X<T>(p, a7), X<T>(r, ROT2<T>(a, m2)));
        s = SR<T>(q4); r = ROT1<T>(s, m1); p = a; a = X<T>(s, r);
        q4 = X<T>(X<T>(p, a7), X<T>(r, ROT2<T>(a, m2)));
        s = SR<T>(q5); r = ROT1<T>(s, m1); p = a; a = X<T>(s, r);
        q5 = X<T>(X<T>(p, r), ROT2<T>(a, m2));
        s = SR<T>(q6); r = ROT1<T>(s, m1); p = a; a = X<T>(s, r);
        q6 = X<T>(X<T>(p, r), ROT2<T>(a, m2));
        q7 = X<T>(X<T>(a, r7), ROT2<T>(a7, m2));
      } else {
        // last round: ShiftRows only
        q0 = SR<T>(q0); q1 = SR<T>(q1); q2 = SR<T>(q2); q3 = SR<T>(q3);
        q4 = SR<T>(q4); q5 = SR<T>(q5); q6 = SR<T>(q6); q7 = SR<T>(q7);
      }

      // AddRoundKey
      q0 = X<T>(q0, load<T>(k)); q1 = X<T>(q1, load<T>(k, S)); q2 = X<T>(q2, load<T>(k, 2 * S));
      q3 = X<T>(q3, load<T>(k, 3 * S)); q4 = X<T>(q4, load<T>(k, 4 * S)); q5 = X<T>(q5, load<T>(k, 5 * S));
      q6 = X<T>(q6, load<T>(k, 6 * S)); q7 = X<T>(q7, load<T>(k, 7 * S));
      if (u == rounds) break;
    }
    if (isVector<T>()) { // undo the ShiftRows permutation accumulated in the layout
      // (u == rounds here; u, a loop counter, is used for the mask address rather than the round
      // count loaded from the key slot, so that no loaded value ever forms an address)
      const f = MASK<T>(u & 3, 2);
      q0 = ROT1<T>(q0, f); q1 = ROT1<T>(q1, f); q2 = ROT1<T>(q2, f); q3 = ROT1<T>(q3, f);
      q4 = ROT1<T>(q4, f); q5 = ROT1<T>(q5, f); q6 = ROT1<T>(q6, f); q7 = ROT1<T>(q7, f);
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
