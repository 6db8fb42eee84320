// The 4-lane driver of SHA-1 and `sha1x4`, which uses it in the SIMD build and hashes the four messages one
// after the other in the scalar build (the 4-lane code is reached only through `if (ASC_FEATURE_SIMD)`, so
// none of it is compiled into the scalar build). Lane i of every v128 hashes message i. Messages may
// differ in length: all lanes run max(blocks) compressions; at step k each lane takes its own block k
// (a message block, or one of its padded final blocks) and a lane whose blocks are all done is frozen by
// the `live` mask in compress(). Only lengths (public) decide what is loaded; contents never branch.
import { compress, padTail, sha1, TAILS, STATE, WBUF, LIVE, H0, H1, H2, H3, H4 } from "./sha1";

// i8x16.swizzle mask that byte-reverses each 32-bit lane (big-endian words, FIPS 180-4 §3.1).
// @ts-ignore: decorator
@inline function bswap32x4(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
}

// Words 4k..4k+3 of the four blocks p0..p3, transposed (lane i = block i) and byte-swapped, to WBUF.
// @ts-ignore: decorator
@inline function transpose4(k: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  const o = k << 4;
  const x0 = load<v128>(p0 + o), x1 = load<v128>(p1 + o), x2 = load<v128>(p2 + o), x3 = load<v128>(p3 + o);
  const t0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5); // x0.0 x1.0 x0.1 x1.1
  const t1 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5); // x2.0 x3.0 x2.1 x3.1
  const t2 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7); // x0.2 x1.2 x0.3 x1.3
  const t3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7); // x2.2 x3.2 x2.3 x3.3
  const w = WBUF + (o << 2);
  store<v128>(w, bswap32x4(v128.shuffle<i64>(t0, t1, 0, 2)));
  store<v128>(w, bswap32x4(v128.shuffle<i64>(t0, t1, 1, 3)), 16);
  store<v128>(w, bswap32x4(v128.shuffle<i64>(t2, t3, 0, 2)), 32);
  store<v128>(w, bswap32x4(v128.shuffle<i64>(t2, t3, 1, 3)), 48);
}

// Address of block k of a lane with `full` whole message blocks at `src` and `n` blocks in all; past the
// end it stays on the lane's last block (whose result is then discarded by the mask).
// @ts-ignore: decorator
@inline function blockAt(k: u32, src: usize, full: u32, n: u32, tail: usize): usize {
  if (k < full) return src + (<usize>k << 6);
  const t = k - full, last = n - full - 1;
  return tail + (<usize>(t < last ? t : last) << 6);
}

// Per-lane setup: pads the lane's tail into its TAILS slot and returns its block count.
// @ts-ignore: decorator
@inline function laneBlocks(lane: usize, src: usize, len: u32, prefix: u32): u32 {
  const full = len >>> 6;
  return full + padTail(TAILS + (lane << 7), src + (<usize>full << 6), len & 63, (<u64>len + <u64>prefix) << 3);
}

/**
 * Runs four messages (s_i, l_i) through the 4-lane state at STATE, including the padding, as if
 * `prefix` bytes had already been compressed (64 for the HMAC inner hash). The caller sets up STATE.
 * Pointers and lengths are parameters, never loaded from memory: they are public, and the
 * constant-time checker can see so.
 */
export function x4Run(
  s0: usize, l0: u32, s1: usize, l1: u32, s2: usize, l2: u32, s3: usize, l3: u32, prefix: u32,
): void {
  const n0 = laneBlocks(0, s0, l0, prefix), n1 = laneBlocks(1, s1, l1, prefix);
  const n2 = laneBlocks(2, s2, l2, prefix), n3 = laneBlocks(3, s3, l3, prefix);
  const f0 = l0 >>> 6, f1 = l1 >>> 6, f2 = l2 >>> 6, f3 = l3 >>> 6;
  const nv = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(n0), 1, n1), 2, n2), 3, n3);
  const nmax = max(max(n0, n1), max(n2, n3));
  for (let k: u32 = 0; k < nmax; k++) {
    const p0 = blockAt(k, s0, f0, n0, TAILS), p1 = blockAt(k, s1, f1, n1, TAILS + 128);
    const p2 = blockAt(k, s2, f2, n2, TAILS + 256), p3 = blockAt(k, s3, f3, n3, TAILS + 384);
    transpose4(0, p0, p1, p2, p3);
    transpose4(1, p0, p1, p2, p3);
    transpose4(2, p0, p1, p2, p3);
    transpose4(3, p0, p1, p2, p3);
    // live lanes: k < n_i (block counts are small, signed compare is exact)
    store<v128>(LIVE, i32x4.gt_s(nv, i32x4.splat(k)));
    compress<v128>(STATE, WBUF, LIVE);
  }
}

/** Lane `lane` of the 4-lane state as a 20-byte big-endian digest at `out`. */
export function x4StoreDigest(lane: usize, out: usize): void {
  for (let j: usize = 0; j < 5; j++) store<u32>(out + (j << 2), bswap<u32>(load<u32>(STATE + (j << 4) + (lane << 2))));
}

/** Four SHA-1 digests: message i is `l_i` bytes at `s_i`, its digest goes to `o_i`. */
export function sha1x4(
  s0: usize, l0: u32, o0: usize, s1: usize, l1: u32, o1: usize,
  s2: usize, l2: u32, o2: usize, s3: usize, l3: u32, o3: usize,
): void {
  if (!ASC_FEATURE_SIMD) {
    sha1(s0, l0, o0);
    sha1(s1, l1, o1);
    sha1(s2, l2, o2);
    sha1(s3, l3, o3);
    return;
  }
  store<v128>(STATE, i32x4.splat(H0));
  store<v128>(STATE, i32x4.splat(H1), 16);
  store<v128>(STATE, i32x4.splat(H2), 32);
  store<v128>(STATE, i32x4.splat(H3), 48);
  store<v128>(STATE, i32x4.splat(H4), 64);
  x4Run(s0, l0, s1, l1, s2, l2, s3, l3, 0);
  x4StoreDigest(0, o0);
  x4StoreDigest(1, o1);
  x4StoreDigest(2, o2);
  x4StoreDigest(3, o3);
}
