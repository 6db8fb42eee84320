// SHA-1 (FIPS 180-4 §6.1) for one message and, in the SIMD build, for four messages at once in the four
// i32 lanes of a v128. A single generic compression function serves both: T = u32 (one message) or
// T = v128 (lane i hashes message i). Every helper below picks its instruction at compile time from T,
// so both instantiations are straight-line code with no branch on data.
//
// No allocation: the only memory used besides the caller's buffers is the static scratch below, which is
// all zero at rest whenever a key was just installed (hmac.ts wipes it; see test/key-hygiene.test.ts).
// Final padded block(s) of up to four messages, 128 bytes per lane (lane 0 also serves the scalar code).
export const TAILS: usize = memory.data(4 * 128, 16);
// Chaining state: 5 u32 (scalar) or 5 v128 (4 lanes, word j of lane i at STATE + 16 j + 4 i).
export const STATE: usize = memory.data(5 * 16, 16);
// The 4-lane `live` mask of compress<v128>.
export const LIVE: usize = memory.data(16, 16);
// 16 message words transposed for the 4-lane code (word j of lane i at WBUF + 16 j + 4 i), host order.
export const WBUF: usize = memory.data(16 * 16, 16);

// FIPS 180-4 §5.3.1: initial hash value.
export const H0: u32 = 0x67452301;
export const H1: u32 = 0xefcdab89;
export const H2: u32 = 0x98badcfe;
export const H3: u32 = 0x10325476;
export const H4: u32 = 0xc3d2e1f0;

// ---- Lane-generic primitives (T = u32 or v128) ----

// @ts-ignore: decorator
@inline function add<T>(x: T, y: T): T {
  if (isVector<T>()) return i32x4.add(x, y); else return x + y;
}
// @ts-ignore: decorator
@inline function xor<T>(x: T, y: T): T {
  if (isVector<T>()) return v128.xor(x, y); else return x ^ y;
}
// @ts-ignore: decorator
@inline function rotl_<T>(x: T, n: i32): T {
  if (isVector<T>()) return v128.or(i32x4.shl(x, n), i32x4.shr_u(x, 32 - n));
  else return rotl<u32>(x, n);
}
// @ts-ignore: decorator
@inline function splat<T>(k: u32): T {
  if (isVector<T>()) return i32x4.splat(k); else return <T>k;
}
// FIPS 180-4 §4.1.1 logical functions. Ch(x,y,z) = (x & y) ^ (~x & z), Maj = majority of the three bits.
// @ts-ignore: decorator
@inline function ch<T>(x: T, y: T, z: T): T {
  if (isVector<T>()) return v128.bitselect(y, z, x); else return z ^ (x & (y ^ z));
}
// @ts-ignore: decorator
@inline function maj<T>(x: T, y: T, z: T): T {
  // Where x and y agree the majority is x, elsewhere it is z.
  if (isVector<T>()) return v128.bitselect(z, x, v128.xor(x, y)); else return (x & y) + (z & (x ^ y));
}
// @ts-ignore: decorator
@inline function parity<T>(x: T, y: T, z: T): T { return xor<T>(xor<T>(x, y), z); }

// Message word i of a block: big-endian from the message (scalar), or pre-transposed (4 lanes).
// @ts-ignore: decorator
@inline function word<T>(p: usize, i: u32): T {
  if (isVector<T>()) return load<v128>(p + (<usize>i << 4));
  else return bswap<u32>(load<u32>(p + (<usize>i << 2)));
}

// One round (FIPS 180-4 §6.1.2 step 3), returning the new `a`; the caller renames the working variables
// instead of moving them (the five-round rotation a,b,c,d,e -> e,a,b,c,d) and rotates b itself.
// ROTL5(a) is added last on purpose: `a` is the previous round's result, the loop-carried dependency,
// so only shift, or, add stand between rounds; everything else is computed in its shadow (adding it
// first made the 4-lane code about 25% slower).
// @ts-ignore: decorator
@inline function f1<T>(a: T, b: T, c: T, d: T, e: T, w: T): T {
  return add<T>(add<T>(add<T>(e, add<T>(w, splat<T>(0x5a827999))), ch<T>(b, c, d)), rotl_<T>(a, 5));
}
// @ts-ignore: decorator
@inline function f2<T>(a: T, b: T, c: T, d: T, e: T, w: T): T {
  return add<T>(add<T>(add<T>(e, add<T>(w, splat<T>(0x6ed9eba1))), parity<T>(b, c, d)), rotl_<T>(a, 5));
}
// @ts-ignore: decorator
@inline function f3<T>(a: T, b: T, c: T, d: T, e: T, w: T): T {
  return add<T>(add<T>(add<T>(e, add<T>(w, splat<T>(0x8f1bbcdc))), maj<T>(b, c, d)), rotl_<T>(a, 5));
}
// @ts-ignore: decorator
@inline function f4<T>(a: T, b: T, c: T, d: T, e: T, w: T): T {
  return add<T>(add<T>(add<T>(e, add<T>(w, splat<T>(0xca62c1d6))), parity<T>(b, c, d)), rotl_<T>(a, 5));
}
// @ts-ignore: decorator
@inline function r30<T>(b: T): T { return rotl_<T>(b, 30); }
// Message schedule (FIPS 180-4 §6.1.2 step 1) on a rolling window of 16 words: W[t] lives in w(t mod 16),
// W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]).
// @ts-ignore: decorator
@inline function ms<T>(w0: T, w2: T, w8: T, w13: T): T {
  return rotl_<T>(xor<T>(xor<T>(w13, w8), xor<T>(w2, w0)), 1);
}

/**
 * Compresses one 64-byte block into the state at `st` (FIPS 180-4 §6.1.2). `p` is the block: message
 * bytes for T = u32, 16 transposed words for T = v128. For T = v128, lanes where the v128 mask at `live`
 * is zero keep their state (this freezes the lanes of shorter messages); the scalar instantiation ignores
 * `live`. (The mask is passed in memory: an exported function with a v128 parameter draws warning AS112.)
 */
export function compress<T>(st: usize, p: usize, live: usize): void {
  let w0 = word<T>(p, 0), w1 = word<T>(p, 1), w2 = word<T>(p, 2), w3 = word<T>(p, 3);
  let w4 = word<T>(p, 4), w5 = word<T>(p, 5), w6 = word<T>(p, 6), w7 = word<T>(p, 7);
  let w8 = word<T>(p, 8), w9 = word<T>(p, 9), w10 = word<T>(p, 10), w11 = word<T>(p, 11);
  let w12 = word<T>(p, 12), w13 = word<T>(p, 13), w14 = word<T>(p, 14), w15 = word<T>(p, 15);
  const sz: usize = sizeof<T>();
  const a0 = load<T>(st), b0 = load<T>(st + sz), c0 = load<T>(st + 2 * sz);
  const d0 = load<T>(st + 3 * sz), e0 = load<T>(st + 4 * sz);
  let a = a0, b = b0, c = c0, d = d0, e = e0;
  e = f1(a, b, c, d, e, w0); b = r30(b);
  d = f1(e, a, b, c, d, w1); a = r30(a);
  c = f1(d, e, a, b, c, w2); e = r30(e);
  b = f1(c, d, e, a, b, w3); d = r30(d);
  a = f1(b, c, d, e, a, w4); c = r30(c);
  e = f1(a, b, c, d, e, w5); b = r30(b);
  d = f1(e, a, b, c, d, w6); a = r30(a);
  c = f1(d, e, a, b, c, w7); e = r30(e);
  b = f1(c, d, e, a, b, w8); d = r30(d);
  a = f1(b, c, d, e, a, w9); c = r30(c);
  e = f1(a, b, c, d, e, w10); b = r30(b);
  d = f1(e, a, b, c, d, w11); a = r30(a);
  c = f1(d, e, a, b, c, w12); e = r30(e);
  b = f1(c, d, e, a, b, w13); d = r30(d);
  a = f1(b, c, d, e, a, w14); c = r30(c);
  e = f1(a, b, c, d, e, w15); b = r30(b);
  w0 = ms(w0, w2, w8, w13); d = f1(e, a, b, c, d, w0); a = r30(a);
  w1 = ms(w1, w3, w9, w14); c = f1(d, e, a, b, c, w1); e = r30(e);
  w2 = ms(w2, w4, w10, w15); b = f1(c, d, e, a, b, w2); d = r30(d);
  w3 = ms(w3, w5, w11, w0); a = f1(b, c, d, e, a, w3); c = r30(c);
  w4 = ms(w4, w6, w12, w1); e = f2(a, b, c, d, e, w4); b = r30(b);
  w5 = ms(w5, w7, w13, w2); d = f2(e, a, b, c, d, w5); a = r30(a);
  w6 = ms(w6, w8, w14, w3); c = f2(d, e, a, b, c, w6); e = r30(e);
  w7 = ms(w7, w9, w15, w4); b = f2(c, d, e, a, b, w7); d = r30(d);
  w8 = ms(w8, w10, w0, w5); a = f2(b, c, d, e, a, w8); c = r30(c);
  w9 = ms(w9, w11, w1, w6); e = f2(a, b, c, d, e, w9); b = r30(b);
  w10 = ms(w10, w12, w2, w7); d = f2(e, a, b, c, d, w10); a = r30(a);
  w11 = ms(w11, w13, w3, w8); c = f2(d, e, a, b, c, w11); e = r30(e);
  w12 = ms(w12, w14, w4, w9); b = f2(c, d, e, a, b, w12); d = r30(d);
  w13 = ms(w13, w15, w5, w10); a = f2(b, c, d, e, a, w13); c = r30(c);
  w14 = ms(w14, w0, w6, w11); e = f2(a, b, c, d, e, w14); b = r30(b);
  w15 = ms(w15, w1, w7, w12); d = f2(e, a, b, c, d, w15); a = r30(a);
  w0 = ms(w0, w2, w8, w13); c = f2(d, e, a, b, c, w0); e = r30(e);
  w1 = ms(w1, w3, w9, w14); b = f2(c, d, e, a, b, w1); d = r30(d);
  w2 = ms(w2, w4, w10, w15); a = f2(b, c, d, e, a, w2); c = r30(c);
  w3 = ms(w3, w5, w11, w0); e = f2(a, b, c, d, e, w3); b = r30(b);
  w4 = ms(w4, w6, w12, w1); d = f2(e, a, b, c, d, w4); a = r30(a);
  w5 = ms(w5, w7, w13, w2); c = f2(d, e, a, b, c, w5); e = r30(e);
  w6 = ms(w6, w8, w14, w3); b = f2(c, d, e, a, b, w6); d = r30(d);
  w7 = ms(w7, w9, w15, w4); a = f2(b, c, d, e, a, w7); c = r30(c);
  w8 = ms(w8, w10, w0, w5); e = f3(a, b, c, d, e, w8); b = r30(b);
  w9 = ms(w9, w11, w1, w6); d = f3(e, a, b, c, d, w9); a = r30(a);
  w10 = ms(w10, w12, w2, w7); c = f3(d, e, a, b, c, w10); e = r30(e);
  w11 = ms(w11, w13, w3, w8); b = f3(c, d, e, a, b, w11); d = r30(d);
  w12 = ms(w12, w14, w4, w9); a = f3(b, c, d, e, a, w12); c = r30(c);
  w13 = ms(w13, w15, w5, w10); e = f3(a, b, c, d, e, w13); b = r30(b);
  w14 = ms(w14, w0, w6, w11); d = f3(e, a, b, c, d, w14); a = r30(a);
  w15 = ms(w15, w1, w7, w12); c = f3(d, e, a, b, c, w15); e = r30(e);
  w0 = ms(w0, w2, w8, w13); b = f3(c, d, e, a, b, w0); d = r30(d);
  w1 = ms(w1, w3, w9, w14); a = f3(b, c, d, e, a, w1); c = r30(c);
  w2 = ms(w2, w4, w10, w15); e = f3(a, b, c, d, e, w2); b = r30(b);
  w3 = ms(w3, w5, w11, w0); d = f3(e, a, b, c, d, w3); a = r30(a);
  w4 = ms(w4, w6, w12, w1); c = f3(d, e, a, b, c, w4); e = r30(e);
  w5 = ms(w5, w7, w13, w2); b = f3(c, d, e, a, b, w5); d = r30(d);
  w6 = ms(w6, w8, w14, w3); a = f3(b, c, d, e, a, w6); c = r30(c);
  w7 = ms(w7, w9, w15, w4); e = f3(a, b, c, d, e, w7); b = r30(b);
  w8 = ms(w8, w10, w0, w5); d = f3(e, a, b, c, d, w8); a = r30(a);
  w9 = ms(w9, w11, w1, w6); c = f3(d, e, a, b, c, w9); e = r30(e);
  w10 = ms(w10, w12, w2, w7); b = f3(c, d, e, a, b, w10); d = r30(d);
  w11 = ms(w11, w13, w3, w8); a = f3(b, c, d, e, a, w11); c = r30(c);
  w12 = ms(w12, w14, w4, w9); e = f4(a, b, c, d, e, w12); b = r30(b);
  w13 = ms(w13, w15, w5, w10); d = f4(e, a, b, c, d, w13); a = r30(a);
  w14 = ms(w14, w0, w6, w11); c = f4(d, e, a, b, c, w14); e = r30(e);
  w15 = ms(w15, w1, w7, w12); b = f4(c, d, e, a, b, w15); d = r30(d);
  w0 = ms(w0, w2, w8, w13); a = f4(b, c, d, e, a, w0); c = r30(c);
  w1 = ms(w1, w3, w9, w14); e = f4(a, b, c, d, e, w1); b = r30(b);
  w2 = ms(w2, w4, w10, w15); d = f4(e, a, b, c, d, w2); a = r30(a);
  w3 = ms(w3, w5, w11, w0); c = f4(d, e, a, b, c, w3); e = r30(e);
  w4 = ms(w4, w6, w12, w1); b = f4(c, d, e, a, b, w4); d = r30(d);
  w5 = ms(w5, w7, w13, w2); a = f4(b, c, d, e, a, w5); c = r30(c);
  w6 = ms(w6, w8, w14, w3); e = f4(a, b, c, d, e, w6); b = r30(b);
  w7 = ms(w7, w9, w15, w4); d = f4(e, a, b, c, d, w7); a = r30(a);
  w8 = ms(w8, w10, w0, w5); c = f4(d, e, a, b, c, w8); e = r30(e);
  w9 = ms(w9, w11, w1, w6); b = f4(c, d, e, a, b, w9); d = r30(d);
  w10 = ms(w10, w12, w2, w7); a = f4(b, c, d, e, a, w10); c = r30(c);
  w11 = ms(w11, w13, w3, w8); e = f4(a, b, c, d, e, w11); b = r30(b);
  w12 = ms(w12, w14, w4, w9); d = f4(e, a, b, c, d, w12); a = r30(a);
  w13 = ms(w13, w15, w5, w10); c = f4(d, e, a, b, c, w13); e = r30(e);
  w14 = ms(w14, w0, w6, w11); b = f4(c, d, e, a, b, w14); d = r30(d);
  w15 = ms(w15, w1, w7, w12); a = f4(b, c, d, e, a, w15); c = r30(c);
  store<T>(st, keep<T>(add<T>(a0, a), a0, live));
  store<T>(st + sz, keep<T>(add<T>(b0, b), b0, live));
  store<T>(st + 2 * sz, keep<T>(add<T>(c0, c), c0, live));
  store<T>(st + 3 * sz, keep<T>(add<T>(d0, d), d0, live));
  store<T>(st + 4 * sz, keep<T>(add<T>(e0, e), e0, live));
}

// The new value where `live` is set, the old one elsewhere (4 lanes); always the new one (scalar).
// @ts-ignore: decorator
@inline function keep<T>(nw: T, old: T, live: usize): T {
  if (isVector<T>()) return v128.bitselect(nw, old, load<v128>(live)); else return nw;
}

/**
 * Writes the padded final block(s) of a message (FIPS 180-4 §5.1.1) to `buf`: the last `r` < 64 bytes
 * from `p`, the 0x80 byte, zeros, and the 64-bit big-endian bit length `bits`. Returns the number of
 * blocks written, 1 or 2. Shared by the scalar, the 4-lane and the HMAC outer-block code.
 */
export function padTail(buf: usize, p: usize, r: u32, bits: u64): u32 {
  memory.copy(buf, p, r);
  store<u8>(buf + r, 0x80);
  const n: u32 = r < 56 ? 1 : 2; // depends on the (public) length only
  const end = buf + (<usize>n << 6);
  memory.fill(buf + r + 1, 0, end - 8 - (buf + r + 1));
  store<u64>(end - 8, bswap<u64>(bits));
  return n;
}

/** Sets the scalar state at `st` to the SHA-1 initial value. */
// @ts-ignore: decorator
@inline export function initState(st: usize): void {
  store<u32>(st, H0); store<u32>(st, H1, 4); store<u32>(st, H2, 8); store<u32>(st, H3, 12); store<u32>(st, H4, 16);
}

/**
 * Hashes `len` bytes at `src` into the scalar state at `st`, including the final padding, as if
 * `prefix` bytes (a multiple of 64) had already been compressed into `st` (64 for the HMAC inner hash).
 */
export function sha1Run(st: usize, src: usize, len: u32, prefix: u32): void {
  const full = len >>> 6;
  for (let i: u32 = 0; i < full; i++) compress<u32>(st, src + (<usize>i << 6), 0);
  const n = padTail(TAILS, src + (<usize>full << 6), len & 63, (<u64>len + <u64>prefix) << 3);
  compress<u32>(st, TAILS, 0);
  if (n > 1) compress<u32>(st, TAILS + 64, 0);
}

/** Stores the scalar state at `st` as a 20-byte big-endian digest at `out`. */
export function storeDigest(st: usize, out: usize): void {
  for (let j: usize = 0; j < 20; j += 4) store<u32>(out + j, bswap<u32>(load<u32>(st + j)));
}

/** Zeroes the SHA-1 scratch (tails, states, schedule): after a key setup, and when a context closes. */
export function sha1WipeScratch(): void {
  memory.fill(TAILS, 0, 4 * 128);
  memory.fill(STATE, 0, 5 * 16);
  memory.fill(WBUF, 0, 16 * 16);
  memory.fill(LIVE, 0, 16);
}

/** SHA-1 digest (20 bytes) of `len` bytes at `src`, to `out`. */
export function sha1(src: usize, len: u32, out: usize): void {
  initState(STATE);
  sha1Run(STATE, src, len, 0);
  storeDigest(STATE, out);
}
