// Constant-time bitsliced AES encryption core, written once over a lane type T:
//   T = u64  : 4 blocks per batch (the scalar build)
//   T = v128 : 8 blocks per batch (the SIMD build)
// The algorithm follows BearSSL's aes_ct64 (T. Pornin): 8 words q[0..7], q[k] holding bit k of every
// state byte of the batch; the S-box is the Boyar-Peralta depth-16 circuit (eprint 2011/332, 128
// gates: more than the 113-gate one of br_aes_ct64_bitslice_Sbox, but the round is latency-bound in
// V8, and the shorter critical path wins), evaluated as plain boolean operations; MixColumns is
// BearSSL's rotation formula.
// There is no table lookup, and no branch, select or address that depends on key or data: only on
// public values (round number, batch index, lengths).
//
// Bit layouts (the code below is shared; only the tiny helpers IN, OUT, SR, ROT1, ROT2 differ):
//  * u64 (ct64): bit 16*r + 4*c + b of q[k] is bit k of the byte at row r, column c of block b.
//    ShiftRows rotates the 16-bit row r by 4*r bits; ROT1 / ROT2 ("next row" / "row after next")
//    are 16- and 32-bit rotations of the word.
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
// MixColumns helpers. ROT1: every byte takes the value of the next row of its column; ROT2: of the
// row two further on. u64 (ct64 layout): rotate the lane by 16 / 32 bits. v128 (row-major byte
// layout, below): rotate the vector by 4 / 8 bytes, one pshufd each.
// @ts-ignore: decorator
@inline function ROT1<T>(a: T): T {
  if (isVector<T>()) return <T>i8x16.shuffle(<v128>a, <v128>a, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
  else return <T>rotr<u64>(<u64>a, 16);
}
// @ts-ignore: decorator
@inline function ROT2<T>(a: T): T {
  if (isVector<T>()) return <T>i8x16.shuffle(<v128>a, <v128>a, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  else return <T>rotr<u64>(<u64>a, 32);
}
// v128: transposes the 4x4 bytes of a block (column-major FIPS order <-> row-major); an involution.
// @ts-ignore: decorator
@inline function TR(x: v128): v128 {
  return v128.swizzle(x, i8x16(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
}

// ShiftRows on one bit plane. v128 (row-major): row r rotates left by r bytes, one pshufb by a
// constant mask (no saturating add in V8, and the mask stays in a register).
// @ts-ignore: decorator
@inline function SR<T>(x: T): T {
  if (isVector<T>()) return <T>v128.swizzle(<v128>x, i8x16(0, 1, 2, 3, 5, 6, 7, 4, 10, 11, 8, 9, 15, 12, 13, 14));
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
      // SubBytes: the Boyar-Peralta depth-16 circuit (eprint 2011/332; as in Bitcoin Core's ctaes).
      // U0 is the most significant bit (q7). The four complemented outputs (bits 6, 5, 1, 0) are NOT
      // negated here: the complement is folded into the round keys by the key schedule (see aes.ts).
      {
        const U0 = q7, U1 = q6, U2 = q5, U3 = q4, U4 = q3, U5 = q2, U6 = q1, U7 = q0;
        // linear preprocessing
        const T1 = X<T>(U0, U3), T2 = X<T>(U0, U5), T3 = X<T>(U0, U6), T4 = X<T>(U3, U5);
        const T5 = X<T>(U4, U6), T6 = X<T>(T1, T5), T7 = X<T>(U1, U2), T8 = X<T>(U7, T6);
        const T9 = X<T>(U7, T7), T10 = X<T>(T6, T7), T11 = X<T>(U1, U5), T12 = X<T>(U2, U5);
        const T13 = X<T>(T3, T4), T14 = X<T>(T6, T11), T15 = X<T>(T5, T11), T16 = X<T>(T5, T12);
        const T17 = X<T>(T9, T16), T18 = X<T>(U3, U7), T19 = X<T>(T7, T18), T20 = X<T>(T1, T19);
        const T21 = X<T>(U6, U7), T22 = X<T>(T7, T21), T23 = X<T>(T2, T22), T24 = X<T>(T2, T10);
        const T25 = X<T>(T20, T17), T26 = X<T>(T3, T16), T27 = X<T>(T1, T12), D = U7;
        // non-linear transformation
        const M1 = A<T>(T13, T6), M6 = A<T>(T3, T16), M11 = A<T>(T1, T15);
        const M13 = X<T>(A<T>(T4, T27), M11), M15 = X<T>(A<T>(T2, T10), M11);
        const M20 = X<T>(X<T>(T14, M1), X<T>(A<T>(T23, T8), M13));
        const M21 = X<T>(X<T>(A<T>(T19, D), M1), X<T>(T24, M15));
        const M22 = X<T>(X<T>(T26, M6), X<T>(A<T>(T22, T9), M13));
        const M23 = X<T>(X<T>(A<T>(T20, T17), M6), X<T>(M15, T25));
        const M25 = A<T>(M22, M20);
        const M37 = X<T>(M21, A<T>(X<T>(M20, M21), X<T>(M23, M25)));
        const M38 = X<T>(X<T>(M20, M25), O<T>(M21, A<T>(M20, M23)));
        const M39 = X<T>(M23, A<T>(X<T>(M22, M23), X<T>(M21, M25)));
        const M40 = X<T>(X<T>(M22, M25), O<T>(M23, A<T>(M21, M22)));
        const M41 = X<T>(M38, M40), M42 = X<T>(M37, M39), M43 = X<T>(M37, M38), M44 = X<T>(M39, M40);
        const M45 = X<T>(M42, M41);
        const M46 = A<T>(M44, T6), M47 = A<T>(M40, T8), M48 = A<T>(M39, D), M49 = A<T>(M43, T16);
        const M50 = A<T>(M38, T9), M51 = A<T>(M37, T17), M52 = A<T>(M42, T15), M53 = A<T>(M45, T27);
        const M54 = A<T>(M41, T10), M55 = A<T>(M44, T13), M56 = A<T>(M40, T23), M57 = A<T>(M39, T19);
        const M58 = A<T>(M43, T3), M59 = A<T>(M38, T22), M60 = A<T>(M37, T20), M61 = A<T>(M42, T1);
        const M62 = A<T>(M45, T4), M63 = A<T>(M41, T2);
        // linear postprocessing
        const L0 = X<T>(M61, M62), L1 = X<T>(M50, M56), L2 = X<T>(M46, M48), L3 = X<T>(M47, M55);
        const L4 = X<T>(M54, M58), L5 = X<T>(M49, M61), L6 = X<T>(M62, L5), L7 = X<T>(M46, L3);
        const L8 = X<T>(M51, M59), L9 = X<T>(M52, M53), L10 = X<T>(M53, L4), L11 = X<T>(M60, L2);
        const L12 = X<T>(M48, M51), L13 = X<T>(M50, L0), L14 = X<T>(M52, M61), L15 = X<T>(M55, L1);
        const L16 = X<T>(M56, L0), L17 = X<T>(M57, L1), L18 = X<T>(M58, L8), L19 = X<T>(M63, L4);
        const L20 = X<T>(L0, L1), L21 = X<T>(L1, L7), L22 = X<T>(L3, L12), L23 = X<T>(L18, L2);
        const L24 = X<T>(L15, L9), L25 = X<T>(L6, L10), L26 = X<T>(L7, L9), L27 = X<T>(L8, L10);
        const L28 = X<T>(L11, L14), L29 = X<T>(L11, L17);
        q7 = X<T>(L6, L24);         // s0
        q6 = X<T>(L16, L26);        // ~s1
        q5 = X<T>(L19, L28);        // ~s2
        q4 = X<T>(L6, L21);         // s3
        q3 = X<T>(L20, L22);        // s4
        q2 = X<T>(L25, L29);        // s5
        q1 = X<T>(L13, L27);        // ~s6
        q0 = X<T>(L6, L23);         // ~s7
      }

      if (u == rounds) break; // (the loop body has no other branch: better register allocation)
      {
        // ShiftRows + MixColumns + AddRoundKey, streamed plane by plane to keep few values live (V8 has 15 vector
        // registers). With r = ROT1(q), a = q ^ r (BearSSL ct64 mix_columns):
        //   q'[k] = a[k-1] ^ r[k] ^ ROT2(a[k])  (^ a[7] for k = 1, 3, 4; a[-1] = a[7])
        // The round key is XORed in off the critical path (s -> r -> a -> ROT2(a) -> q').
        let s7 = SR<T>(q7), r7 = ROT1<T>(s7), a7 = X<T>(s7, r7);
        let s = SR<T>(q0), r = ROT1<T>(s), a = X<T>(s, r);
        q0 = X<T>(X<T>(X<T>(a7, load<T>(k)), r), ROT2<T>(a));
        s = SR<T>(q1); r = ROT1<T>(s); let p = a; a = X<T>(s, r);
        q1 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, S))), ROT2<T>(a));
        s = SR<T>(q2); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        q2 = X<T>(X<T>(X<T>(p, load<T>(k, 2 * S)), r), ROT2<T>(a));
        s = SR<T>(q3); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        q3 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, 3 * S))), ROT2<T>(a));
        s = SR<T>(q4); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        q4 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, 4 * S))), ROT2<T>(a));
        s = SR<T>(q5); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        q5 = X<T>(X<T>(X<T>(p, load<T>(k, 5 * S)), r), ROT2<T>(a));
        s = SR<T>(q6); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        q6 = X<T>(X<T>(X<T>(p, load<T>(k, 6 * S)), r), ROT2<T>(a));
        q7 = X<T>(X<T>(X<T>(a, load<T>(k, 7 * S)), r7), ROT2<T>(a7));
      }
    }
    // last round (its SubBytes done above): ShiftRows and AddRoundKey only
    q0 = X<T>(SR<T>(q0), load<T>(k)); q1 = X<T>(SR<T>(q1), load<T>(k, S));
    q2 = X<T>(SR<T>(q2), load<T>(k, 2 * S)); q3 = X<T>(SR<T>(q3), load<T>(k, 3 * S));
    q4 = X<T>(SR<T>(q4), load<T>(k, 4 * S)); q5 = X<T>(SR<T>(q5), load<T>(k, 5 * S));
    q6 = X<T>(SR<T>(q6), load<T>(k, 6 * S)); q7 = X<T>(SR<T>(q7), load<T>(k, 7 * S));
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


/**
 * Two independent batches at once: aesBatch on (inp, out) and on (inp_b, out_b), mode BATCH_STORE
 * or BATCH_XOR. The two dependency chains interleave, which hides much of the S-box latency (one
 * batch alone leaves the CPU waiting on the circuit's critical path): ~12% faster per batch in V8,
 * despite the extra spills. The body is aesBatch's with every statement doubled (the copy's names
 * end in _b), so any change to aesBatch must be made here as well.
 */
export function aesBatch2<T>(skey: usize, rounds: u32, inp: usize, out: usize, inp_b: usize, out_b: usize, mode: u32): void {
  const S = sizeof<T>();
  let q0 = IN<T>(inp, 0), q1 = IN<T>(inp, 1), q2 = IN<T>(inp, 2), q3 = IN<T>(inp, 3);
  let q0_b = IN<T>(inp_b, 0), q1_b = IN<T>(inp_b, 1), q2_b = IN<T>(inp_b, 2), q3_b = IN<T>(inp_b, 3);
  let q4 = IN<T>(inp, 4), q5 = IN<T>(inp, 5), q6 = IN<T>(inp, 6), q7 = IN<T>(inp, 7);
  let q4_b = IN<T>(inp_b, 4), q5_b = IN<T>(inp_b, 5), q6_b = IN<T>(inp_b, 6), q7_b = IN<T>(inp_b, 7);
  let t: T;
  let t_b: T;

  // ortho: transpose so that q[k] holds bit k of every byte (swapmove form of BearSSL's SWAPN).
  // It is its own inverse, so one copy serves both ways: pass 0 bitslices the input and runs the
  // cipher below, pass 1 transposes the result back to bytes.
  for (let pass = 0; pass < 2; pass++) {
    const m1 = K<T>(0x5555555555555555), m2 = K<T>(0x3333333333333333), m4 = K<T>(0x0F0F0F0F0F0F0F0F);
    t = A<T>(X<T>(SHR<T>(q0, 1), q1), m1); q1 = X<T>(q1, t); q0 = X<T>(q0, SHL<T>(t, 1));
    t_b = A<T>(X<T>(SHR<T>(q0_b, 1), q1_b), m1); q1_b = X<T>(q1_b, t_b); q0_b = X<T>(q0_b, SHL<T>(t_b, 1));
    t = A<T>(X<T>(SHR<T>(q2, 1), q3), m1); q3 = X<T>(q3, t); q2 = X<T>(q2, SHL<T>(t, 1));
    t_b = A<T>(X<T>(SHR<T>(q2_b, 1), q3_b), m1); q3_b = X<T>(q3_b, t_b); q2_b = X<T>(q2_b, SHL<T>(t_b, 1));
    t = A<T>(X<T>(SHR<T>(q4, 1), q5), m1); q5 = X<T>(q5, t); q4 = X<T>(q4, SHL<T>(t, 1));
    t_b = A<T>(X<T>(SHR<T>(q4_b, 1), q5_b), m1); q5_b = X<T>(q5_b, t_b); q4_b = X<T>(q4_b, SHL<T>(t_b, 1));
    t = A<T>(X<T>(SHR<T>(q6, 1), q7), m1); q7 = X<T>(q7, t); q6 = X<T>(q6, SHL<T>(t, 1));
    t_b = A<T>(X<T>(SHR<T>(q6_b, 1), q7_b), m1); q7_b = X<T>(q7_b, t_b); q6_b = X<T>(q6_b, SHL<T>(t_b, 1));
    t = A<T>(X<T>(SHR<T>(q0, 2), q2), m2); q2 = X<T>(q2, t); q0 = X<T>(q0, SHL<T>(t, 2));
    t_b = A<T>(X<T>(SHR<T>(q0_b, 2), q2_b), m2); q2_b = X<T>(q2_b, t_b); q0_b = X<T>(q0_b, SHL<T>(t_b, 2));
    t = A<T>(X<T>(SHR<T>(q1, 2), q3), m2); q3 = X<T>(q3, t); q1 = X<T>(q1, SHL<T>(t, 2));
    t_b = A<T>(X<T>(SHR<T>(q1_b, 2), q3_b), m2); q3_b = X<T>(q3_b, t_b); q1_b = X<T>(q1_b, SHL<T>(t_b, 2));
    t = A<T>(X<T>(SHR<T>(q4, 2), q6), m2); q6 = X<T>(q6, t); q4 = X<T>(q4, SHL<T>(t, 2));
    t_b = A<T>(X<T>(SHR<T>(q4_b, 2), q6_b), m2); q6_b = X<T>(q6_b, t_b); q4_b = X<T>(q4_b, SHL<T>(t_b, 2));
    t = A<T>(X<T>(SHR<T>(q5, 2), q7), m2); q7 = X<T>(q7, t); q5 = X<T>(q5, SHL<T>(t, 2));
    t_b = A<T>(X<T>(SHR<T>(q5_b, 2), q7_b), m2); q7_b = X<T>(q7_b, t_b); q5_b = X<T>(q5_b, SHL<T>(t_b, 2));
    t = A<T>(X<T>(SHR<T>(q0, 4), q4), m4); q4 = X<T>(q4, t); q0 = X<T>(q0, SHL<T>(t, 4));
    t_b = A<T>(X<T>(SHR<T>(q0_b, 4), q4_b), m4); q4_b = X<T>(q4_b, t_b); q0_b = X<T>(q0_b, SHL<T>(t_b, 4));
    t = A<T>(X<T>(SHR<T>(q1, 4), q5), m4); q5 = X<T>(q5, t); q1 = X<T>(q1, SHL<T>(t, 4));
    t_b = A<T>(X<T>(SHR<T>(q1_b, 4), q5_b), m4); q5_b = X<T>(q5_b, t_b); q1_b = X<T>(q1_b, SHL<T>(t_b, 4));
    t = A<T>(X<T>(SHR<T>(q2, 4), q6), m4); q6 = X<T>(q6, t); q2 = X<T>(q2, SHL<T>(t, 4));
    t_b = A<T>(X<T>(SHR<T>(q2_b, 4), q6_b), m4); q6_b = X<T>(q6_b, t_b); q2_b = X<T>(q2_b, SHL<T>(t_b, 4));
    t = A<T>(X<T>(SHR<T>(q3, 4), q7), m4); q7 = X<T>(q7, t); q3 = X<T>(q3, SHL<T>(t, 4));
    t_b = A<T>(X<T>(SHR<T>(q3_b, 4), q7_b), m4); q7_b = X<T>(q7_b, t_b); q3_b = X<T>(q3_b, SHL<T>(t_b, 4));
    if (pass == 1) break;


    // ---- the cipher: AddRoundKey, then rounds of SubBytes / ShiftRows / MixColumns / AddRoundKey ----
    let k = skey;
    q0 = X<T>(q0, load<T>(k)); q1 = X<T>(q1, load<T>(k, S)); q2 = X<T>(q2, load<T>(k, 2 * S));
    q0_b = X<T>(q0_b, load<T>(k)); q1_b = X<T>(q1_b, load<T>(k, S)); q2_b = X<T>(q2_b, load<T>(k, 2 * S));
    q3 = X<T>(q3, load<T>(k, 3 * S)); q4 = X<T>(q4, load<T>(k, 4 * S)); q5 = X<T>(q5, load<T>(k, 5 * S));
    q3_b = X<T>(q3_b, load<T>(k, 3 * S)); q4_b = X<T>(q4_b, load<T>(k, 4 * S)); q5_b = X<T>(q5_b, load<T>(k, 5 * S));
    q6 = X<T>(q6, load<T>(k, 6 * S)); q7 = X<T>(q7, load<T>(k, 7 * S));
    q6_b = X<T>(q6_b, load<T>(k, 6 * S)); q7_b = X<T>(q7_b, load<T>(k, 7 * S));
    let u: u32 = 1;
    for (; ; u++) {
      k += 8 * S;
      // SubBytes: the Boyar-Peralta depth-16 circuit (eprint 2011/332; as in Bitcoin Core's ctaes).
      // U0 is the most significant bit (q7). The four complemented outputs (bits 6, 5, 1, 0) are NOT
      // negated here: the complement is folded into the round keys by the key schedule (see aes.ts).
      {
        const U0 = q7, U1 = q6, U2 = q5, U3 = q4, U4 = q3, U5 = q2, U6 = q1, U7 = q0;
        // linear preprocessing
        const T1 = X<T>(U0, U3), T2 = X<T>(U0, U5), T3 = X<T>(U0, U6), T4 = X<T>(U3, U5);
        const T5 = X<T>(U4, U6), T6 = X<T>(T1, T5), T7 = X<T>(U1, U2), T8 = X<T>(U7, T6);
        const T9 = X<T>(U7, T7), T10 = X<T>(T6, T7), T11 = X<T>(U1, U5), T12 = X<T>(U2, U5);
        const T13 = X<T>(T3, T4), T14 = X<T>(T6, T11), T15 = X<T>(T5, T11), T16 = X<T>(T5, T12);
        const T17 = X<T>(T9, T16), T18 = X<T>(U3, U7), T19 = X<T>(T7, T18), T20 = X<T>(T1, T19);
        const T21 = X<T>(U6, U7), T22 = X<T>(T7, T21), T23 = X<T>(T2, T22), T24 = X<T>(T2, T10);
        const T25 = X<T>(T20, T17), T26 = X<T>(T3, T16), T27 = X<T>(T1, T12), D = U7;
        // non-linear transformation
        const M1 = A<T>(T13, T6), M6 = A<T>(T3, T16), M11 = A<T>(T1, T15);
        const M13 = X<T>(A<T>(T4, T27), M11), M15 = X<T>(A<T>(T2, T10), M11);
        const M20 = X<T>(X<T>(T14, M1), X<T>(A<T>(T23, T8), M13));
        const M21 = X<T>(X<T>(A<T>(T19, D), M1), X<T>(T24, M15));
        const M22 = X<T>(X<T>(T26, M6), X<T>(A<T>(T22, T9), M13));
        const M23 = X<T>(X<T>(A<T>(T20, T17), M6), X<T>(M15, T25));
        const M25 = A<T>(M22, M20);
        const M37 = X<T>(M21, A<T>(X<T>(M20, M21), X<T>(M23, M25)));
        const M38 = X<T>(X<T>(M20, M25), O<T>(M21, A<T>(M20, M23)));
        const M39 = X<T>(M23, A<T>(X<T>(M22, M23), X<T>(M21, M25)));
        const M40 = X<T>(X<T>(M22, M25), O<T>(M23, A<T>(M21, M22)));
        const M41 = X<T>(M38, M40), M42 = X<T>(M37, M39), M43 = X<T>(M37, M38), M44 = X<T>(M39, M40);
        const M45 = X<T>(M42, M41);
        const M46 = A<T>(M44, T6), M47 = A<T>(M40, T8), M48 = A<T>(M39, D), M49 = A<T>(M43, T16);
        const M50 = A<T>(M38, T9), M51 = A<T>(M37, T17), M52 = A<T>(M42, T15), M53 = A<T>(M45, T27);
        const M54 = A<T>(M41, T10), M55 = A<T>(M44, T13), M56 = A<T>(M40, T23), M57 = A<T>(M39, T19);
        const M58 = A<T>(M43, T3), M59 = A<T>(M38, T22), M60 = A<T>(M37, T20), M61 = A<T>(M42, T1);
        const M62 = A<T>(M45, T4), M63 = A<T>(M41, T2);
        // linear postprocessing
        const L0 = X<T>(M61, M62), L1 = X<T>(M50, M56), L2 = X<T>(M46, M48), L3 = X<T>(M47, M55);
        const L4 = X<T>(M54, M58), L5 = X<T>(M49, M61), L6 = X<T>(M62, L5), L7 = X<T>(M46, L3);
        const L8 = X<T>(M51, M59), L9 = X<T>(M52, M53), L10 = X<T>(M53, L4), L11 = X<T>(M60, L2);
        const L12 = X<T>(M48, M51), L13 = X<T>(M50, L0), L14 = X<T>(M52, M61), L15 = X<T>(M55, L1);
        const L16 = X<T>(M56, L0), L17 = X<T>(M57, L1), L18 = X<T>(M58, L8), L19 = X<T>(M63, L4);
        const L20 = X<T>(L0, L1), L21 = X<T>(L1, L7), L22 = X<T>(L3, L12), L23 = X<T>(L18, L2);
        const L24 = X<T>(L15, L9), L25 = X<T>(L6, L10), L26 = X<T>(L7, L9), L27 = X<T>(L8, L10);
        const L28 = X<T>(L11, L14), L29 = X<T>(L11, L17);
        q7 = X<T>(L6, L24);         // s0
        q6 = X<T>(L16, L26);        // ~s1
        q5 = X<T>(L19, L28);        // ~s2
        q4 = X<T>(L6, L21);         // s3
        q3 = X<T>(L20, L22);        // s4
        q2 = X<T>(L25, L29);        // s5
        q1 = X<T>(L13, L27);        // ~s6
        q0 = X<T>(L6, L23);         // ~s7
        const U0_b = q7_b, U1_b = q6_b, U2_b = q5_b, U3_b = q4_b, U4_b = q3_b, U5_b = q2_b, U6_b = q1_b, U7_b = q0_b;
        const T1_b = X<T>(U0_b, U3_b), T2_b = X<T>(U0_b, U5_b), T3_b = X<T>(U0_b, U6_b), T4_b = X<T>(U3_b, U5_b);
        const T5_b = X<T>(U4_b, U6_b), T6_b = X<T>(T1_b, T5_b), T7_b = X<T>(U1_b, U2_b), T8_b = X<T>(U7_b, T6_b);
        const T9_b = X<T>(U7_b, T7_b), T10_b = X<T>(T6_b, T7_b), T11_b = X<T>(U1_b, U5_b), T12_b = X<T>(U2_b, U5_b);
        const T13_b = X<T>(T3_b, T4_b), T14_b = X<T>(T6_b, T11_b), T15_b = X<T>(T5_b, T11_b), T16_b = X<T>(T5_b, T12_b);
        const T17_b = X<T>(T9_b, T16_b), T18_b = X<T>(U3_b, U7_b), T19_b = X<T>(T7_b, T18_b), T20_b = X<T>(T1_b, T19_b);
        const T21_b = X<T>(U6_b, U7_b), T22_b = X<T>(T7_b, T21_b), T23_b = X<T>(T2_b, T22_b), T24_b = X<T>(T2_b, T10_b);
        const T25_b = X<T>(T20_b, T17_b), T26_b = X<T>(T3_b, T16_b), T27_b = X<T>(T1_b, T12_b), D_b = U7_b;
        const M1_b = A<T>(T13_b, T6_b), M6_b = A<T>(T3_b, T16_b), M11_b = A<T>(T1_b, T15_b);
        const M13_b = X<T>(A<T>(T4_b, T27_b), M11_b), M15_b = X<T>(A<T>(T2_b, T10_b), M11_b);
        const M20_b = X<T>(X<T>(T14_b, M1_b), X<T>(A<T>(T23_b, T8_b), M13_b));
        const M21_b = X<T>(X<T>(A<T>(T19_b, D_b), M1_b), X<T>(T24_b, M15_b));
        const M22_b = X<T>(X<T>(T26_b, M6_b), X<T>(A<T>(T22_b, T9_b), M13_b));
        const M23_b = X<T>(X<T>(A<T>(T20_b, T17_b), M6_b), X<T>(M15_b, T25_b));
        const M25_b = A<T>(M22_b, M20_b);
        const M37_b = X<T>(M21_b, A<T>(X<T>(M20_b, M21_b), X<T>(M23_b, M25_b)));
        const M38_b = X<T>(X<T>(M20_b, M25_b), O<T>(M21_b, A<T>(M20_b, M23_b)));
        const M39_b = X<T>(M23_b, A<T>(X<T>(M22_b, M23_b), X<T>(M21_b, M25_b)));
        const M40_b = X<T>(X<T>(M22_b, M25_b), O<T>(M23_b, A<T>(M21_b, M22_b)));
        const M41_b = X<T>(M38_b, M40_b), M42_b = X<T>(M37_b, M39_b), M43_b = X<T>(M37_b, M38_b), M44_b = X<T>(M39_b, M40_b);
        const M45_b = X<T>(M42_b, M41_b);
        const M46_b = A<T>(M44_b, T6_b), M47_b = A<T>(M40_b, T8_b), M48_b = A<T>(M39_b, D_b), M49_b = A<T>(M43_b, T16_b);
        const M50_b = A<T>(M38_b, T9_b), M51_b = A<T>(M37_b, T17_b), M52_b = A<T>(M42_b, T15_b), M53_b = A<T>(M45_b, T27_b);
        const M54_b = A<T>(M41_b, T10_b), M55_b = A<T>(M44_b, T13_b), M56_b = A<T>(M40_b, T23_b), M57_b = A<T>(M39_b, T19_b);
        const M58_b = A<T>(M43_b, T3_b), M59_b = A<T>(M38_b, T22_b), M60_b = A<T>(M37_b, T20_b), M61_b = A<T>(M42_b, T1_b);
        const M62_b = A<T>(M45_b, T4_b), M63_b = A<T>(M41_b, T2_b);
        const L0_b = X<T>(M61_b, M62_b), L1_b = X<T>(M50_b, M56_b), L2_b = X<T>(M46_b, M48_b), L3_b = X<T>(M47_b, M55_b);
        const L4_b = X<T>(M54_b, M58_b), L5_b = X<T>(M49_b, M61_b), L6_b = X<T>(M62_b, L5_b), L7_b = X<T>(M46_b, L3_b);
        const L8_b = X<T>(M51_b, M59_b), L9_b = X<T>(M52_b, M53_b), L10_b = X<T>(M53_b, L4_b), L11_b = X<T>(M60_b, L2_b);
        const L12_b = X<T>(M48_b, M51_b), L13_b = X<T>(M50_b, L0_b), L14_b = X<T>(M52_b, M61_b), L15_b = X<T>(M55_b, L1_b);
        const L16_b = X<T>(M56_b, L0_b), L17_b = X<T>(M57_b, L1_b), L18_b = X<T>(M58_b, L8_b), L19_b = X<T>(M63_b, L4_b);
        const L20_b = X<T>(L0_b, L1_b), L21_b = X<T>(L1_b, L7_b), L22_b = X<T>(L3_b, L12_b), L23_b = X<T>(L18_b, L2_b);
        const L24_b = X<T>(L15_b, L9_b), L25_b = X<T>(L6_b, L10_b), L26_b = X<T>(L7_b, L9_b), L27_b = X<T>(L8_b, L10_b);
        const L28_b = X<T>(L11_b, L14_b), L29_b = X<T>(L11_b, L17_b);
        q7_b = X<T>(L6_b, L24_b);
        q6_b = X<T>(L16_b, L26_b);
        q5_b = X<T>(L19_b, L28_b);
        q4_b = X<T>(L6_b, L21_b);
        q3_b = X<T>(L20_b, L22_b);
        q2_b = X<T>(L25_b, L29_b);
        q1_b = X<T>(L13_b, L27_b);
        q0_b = X<T>(L6_b, L23_b);
      }

      if (u == rounds) break; // (the loop body has no other branch: better register allocation)
      {
        // ShiftRows + MixColumns + AddRoundKey, streamed plane by plane to keep few values live (V8 has 15 vector
        // registers). With r = ROT1(q), a = q ^ r (BearSSL ct64 mix_columns):
        //   q'[k] = a[k-1] ^ r[k] ^ ROT2(a[k])  (^ a[7] for k = 1, 3, 4; a[-1] = a[7])
        // The round key is XORed in off the critical path (s -> r -> a -> ROT2(a) -> q').
        let s7 = SR<T>(q7), r7 = ROT1<T>(s7), a7 = X<T>(s7, r7);
        let s7_b = SR<T>(q7_b), r7_b = ROT1<T>(s7_b), a7_b = X<T>(s7_b, r7_b);
        let s = SR<T>(q0), r = ROT1<T>(s), a = X<T>(s, r);
        let s_b = SR<T>(q0_b), r_b = ROT1<T>(s_b), a_b = X<T>(s_b, r_b);
        q0 = X<T>(X<T>(X<T>(a7, load<T>(k)), r), ROT2<T>(a));
        q0_b = X<T>(X<T>(X<T>(a7_b, load<T>(k)), r_b), ROT2<T>(a_b));
        s = SR<T>(q1); r = ROT1<T>(s); let p = a; a = X<T>(s, r);
        s_b = SR<T>(q1_b); r_b = ROT1<T>(s_b); let p_b = a_b; a_b = X<T>(s_b, r_b);
        q1 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, S))), ROT2<T>(a));
        q1_b = X<T>(X<T>(X<T>(p_b, a7_b), X<T>(r_b, load<T>(k, S))), ROT2<T>(a_b));
        s = SR<T>(q2); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        s_b = SR<T>(q2_b); r_b = ROT1<T>(s_b); p_b = a_b; a_b = X<T>(s_b, r_b);
        q2 = X<T>(X<T>(X<T>(p, load<T>(k, 2 * S)), r), ROT2<T>(a));
        q2_b = X<T>(X<T>(X<T>(p_b, load<T>(k, 2 * S)), r_b), ROT2<T>(a_b));
        s = SR<T>(q3); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        s_b = SR<T>(q3_b); r_b = ROT1<T>(s_b); p_b = a_b; a_b = X<T>(s_b, r_b);
        q3 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, 3 * S))), ROT2<T>(a));
        q3_b = X<T>(X<T>(X<T>(p_b, a7_b), X<T>(r_b, load<T>(k, 3 * S))), ROT2<T>(a_b));
        s = SR<T>(q4); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        s_b = SR<T>(q4_b); r_b = ROT1<T>(s_b); p_b = a_b; a_b = X<T>(s_b, r_b);
        q4 = X<T>(X<T>(X<T>(p, a7), X<T>(r, load<T>(k, 4 * S))), ROT2<T>(a));
        q4_b = X<T>(X<T>(X<T>(p_b, a7_b), X<T>(r_b, load<T>(k, 4 * S))), ROT2<T>(a_b));
        s = SR<T>(q5); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        s_b = SR<T>(q5_b); r_b = ROT1<T>(s_b); p_b = a_b; a_b = X<T>(s_b, r_b);
        q5 = X<T>(X<T>(X<T>(p, load<T>(k, 5 * S)), r), ROT2<T>(a));
        q5_b = X<T>(X<T>(X<T>(p_b, load<T>(k, 5 * S)), r_b), ROT2<T>(a_b));
        s = SR<T>(q6); r = ROT1<T>(s); p = a; a = X<T>(s, r);
        s_b = SR<T>(q6_b); r_b = ROT1<T>(s_b); p_b = a_b; a_b = X<T>(s_b, r_b);
        q6 = X<T>(X<T>(X<T>(p, load<T>(k, 6 * S)), r), ROT2<T>(a));
        q6_b = X<T>(X<T>(X<T>(p_b, load<T>(k, 6 * S)), r_b), ROT2<T>(a_b));
        q7 = X<T>(X<T>(X<T>(a, load<T>(k, 7 * S)), r7), ROT2<T>(a7));
        q7_b = X<T>(X<T>(X<T>(a_b, load<T>(k, 7 * S)), r7_b), ROT2<T>(a7_b));
      }
    }
    // last round (its SubBytes done above): ShiftRows and AddRoundKey only
    q0 = X<T>(SR<T>(q0), load<T>(k)); q1 = X<T>(SR<T>(q1), load<T>(k, S));
    q0_b = X<T>(SR<T>(q0_b), load<T>(k)); q1_b = X<T>(SR<T>(q1_b), load<T>(k, S));
    q2 = X<T>(SR<T>(q2), load<T>(k, 2 * S)); q3 = X<T>(SR<T>(q3), load<T>(k, 3 * S));
    q2_b = X<T>(SR<T>(q2_b), load<T>(k, 2 * S)); q3_b = X<T>(SR<T>(q3_b), load<T>(k, 3 * S));
    q4 = X<T>(SR<T>(q4), load<T>(k, 4 * S)); q5 = X<T>(SR<T>(q5), load<T>(k, 5 * S));
    q4_b = X<T>(SR<T>(q4_b), load<T>(k, 4 * S)); q5_b = X<T>(SR<T>(q5_b), load<T>(k, 5 * S));
    q6 = X<T>(SR<T>(q6), load<T>(k, 6 * S)); q7 = X<T>(SR<T>(q7), load<T>(k, 7 * S));
    q6_b = X<T>(SR<T>(q6_b), load<T>(k, 6 * S)); q7_b = X<T>(SR<T>(q7_b), load<T>(k, 7 * S));
    if (isVector<T>()) { // back to the column-major byte order (TR commutes with ortho)
      q0 = <T>TR(<v128>q0); q1 = <T>TR(<v128>q1); q2 = <T>TR(<v128>q2); q3 = <T>TR(<v128>q3);
      q0_b = <T>TR(<v128>q0_b); q1_b = <T>TR(<v128>q1_b); q2_b = <T>TR(<v128>q2_b); q3_b = <T>TR(<v128>q3_b);
      q4 = <T>TR(<v128>q4); q5 = <T>TR(<v128>q5); q6 = <T>TR(<v128>q6); q7 = <T>TR(<v128>q7);
      q4_b = <T>TR(<v128>q4_b); q5_b = <T>TR(<v128>q5_b); q6_b = <T>TR(<v128>q6_b); q7_b = <T>TR(<v128>q7_b);
    }
  }

  // back to bytes
  if (mode == BATCH_XOR) {
    OUT<T>(out, 0, q0, q4, true); OUT<T>(out, 1, q1, q5, true);
    OUT<T>(out_b, 0, q0_b, q4_b, true); OUT<T>(out_b, 1, q1_b, q5_b, true);
    OUT<T>(out, 2, q2, q6, true); OUT<T>(out, 3, q3, q7, true);
    OUT<T>(out_b, 2, q2_b, q6_b, true); OUT<T>(out_b, 3, q3_b, q7_b, true);
  } else {
    OUT<T>(out, 0, q0, q4, false); OUT<T>(out, 1, q1, q5, false);
    OUT<T>(out_b, 0, q0_b, q4_b, false); OUT<T>(out_b, 1, q1_b, q5_b, false);
    OUT<T>(out, 2, q2, q6, false); OUT<T>(out, 3, q3, q7, false);
    OUT<T>(out_b, 2, q2_b, q6_b, false); OUT<T>(out_b, 3, q3_b, q7_b, false);
  }
}

