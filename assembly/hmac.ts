// HMAC-SHA1 (RFC 2104, FIPS 198-1) over precomputed key slots. A slot holds the SHA-1 chaining state after
// compressing (K ^ ipad) at byte 0 and after (K ^ opad) at byte 20 (5 host-order u32 each); the raw key is
// never kept. HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)): the inner hash resumes from the first
// state with 64 bytes already counted, the outer hash is one block (20-byte digest + padding) from the
// second. Time depends only on the (public) lengths, never on key or message bytes.
import { hmacKeySlot, HMAC_SLOT_BYTES } from "./layout";
import { compress, padTail, sha1, sha1Run, sha1WipeScratch, storeDigest, initState, STATE, WBUF, LIVE } from "./sha1";
import { x4Run, x4StoreDigest } from "./sha1x4";

// Key block (K zero-padded to 64 bytes, then K ^ pad) during hmacSetKey; the outer block in hmacSha1.
const BLOCK: usize = memory.data(64, 16);

// Outer-hash message length: the 64-byte (K ^ opad) block plus the 20-byte inner digest, in bits.
const OUTER_BITS: u64 = (64 + 20) * 8;

// XORs `pad` into every byte of BLOCK and stores the state after compressing it at `dst`.
function padState(pad: u32, dst: usize): void {
  const x = pad * 0x01010101;
  for (let i: usize = 0; i < 64; i += 4) store<u32>(BLOCK + i, load<u32>(BLOCK + i) ^ x);
  initState(STATE);
  compress<u32>(STATE, BLOCK, 0);
  memory.copy(dst, STATE, 20);
}

/**
 * Computes the inner and outer states of a key of any length into the 40 bytes at `dst` (RFC 2104 §2):
 * a key slot, or another module's static scratch (the MIKEY PRF keys one HMAC per inkey piece). Leaves
 * key-dependent bytes in BLOCK and the SHA-1 scratch: callers wipe them (hmacWipeScratch) when done.
 */
export function hmacKeyStates(dst: usize, key: usize, keyLen: u32): void {
  // K zero-padded to the block size; keys longer than the block are replaced by their digest (§2).
  let n = keyLen;
  if (n > 64) { sha1(key, n, BLOCK); n = 20; } else memory.copy(BLOCK, key, n);
  memory.fill(BLOCK + n, 0, 64 - n);
  padState(0x36, dst);          // K ^ ipad
  padState(0x36 ^ 0x5c, dst + 20); // (K ^ ipad) ^ (ipad ^ opad) = K ^ opad
}

/** Precomputes the inner and outer states of a key of any length into `slot` (RFC 2104 §2). */
export function hmacSetKey(slot: u32, key: usize, keyLen: u32): void {
  hmacKeyStates(hmacKeySlot(slot), key, keyLen);
  // Leave no key-dependent byte behind in the scratch (it is all zero at rest).
  hmacWipeScratch();
}

/** Zeroes the HMAC and SHA-1 scratch. */
export function hmacWipeScratch(): void {
  memory.fill(BLOCK, 0, 64);
  sha1WipeScratch();
}

/** Zeroes `slot`. */
export function hmacWipeKey(slot: u32): void {
  memory.fill(hmacKeySlot(slot), 0, HMAC_SLOT_BYTES);
}

/** Full 20-byte HMAC-SHA1 tag of `len` bytes at `src` under the key in `slot`, to `out`. */
export function hmacSha1(slot: u32, src: usize, len: u32, out: usize): void {
  hmacSha1At(hmacKeySlot(slot), src, len, out);
}

/**
 * Full 20-byte HMAC-SHA1 tag of `len` bytes at `src` under the state pair at `k` (as hmacKeyStates
 * writes it), to `out`. `out` may overlap `src`: it is written only after the message has been read.
 */
export function hmacSha1At(k: usize, src: usize, len: u32, out: usize): void {
  memory.copy(STATE, k, 20);
  sha1Run(STATE, src, len, 64);
  storeDigest(STATE, BLOCK);
  padTail(BLOCK, BLOCK, 20, OUTER_BITS);
  memory.copy(STATE, k + 20, 20);
  compress<u32>(STATE, BLOCK, 0);
  storeDigest(STATE, out);
}

// Loads lane `lane` of the 4-lane state from the state at byte `at` of key slot `slot`.
// @ts-ignore: decorator
@inline function x4LoadState(lane: usize, slot: u32, at: usize): void {
  const k = hmacKeySlot(slot) + at;
  for (let j: usize = 0; j < 5; j++) store<u32>(STATE + (j << 4) + (lane << 2), load<u32>(k + (j << 2)));
}

/** Four HMACs at once: lane i is `l_i` bytes at `s_i` under the key in slot `k_i`, tag to `o_i`. */
export function hmacSha1x4(
  k0: u32, s0: usize, l0: u32, o0: usize, k1: u32, s1: usize, l1: u32, o1: usize,
  k2: u32, s2: usize, l2: u32, o2: usize, k3: u32, s3: usize, l3: u32, o3: usize,
): void {
  if (ASC_FEATURE_SIMD) {
    x4LoadState(0, k0, 0);
    x4LoadState(1, k1, 0);
    x4LoadState(2, k2, 0);
    x4LoadState(3, k3, 0);
    x4Run(s0, l0, s1, l1, s2, l2, s3, l3, 64);
    // Outer block of every lane, already transposed: the inner digest words, then the padding of an
    // 84-byte message (FIPS 180-4 §5.1.1): 0x80 at byte 20, zeros, bit length in word 15.
    memory.copy(WBUF, STATE, 5 * 16);
    store<v128>(WBUF, i32x4.splat(0x80000000), 5 * 16);
    memory.fill(WBUF + 6 * 16, 0, 9 * 16);
    store<v128>(WBUF, i32x4.splat(<u32>OUTER_BITS), 15 * 16);
    x4LoadState(0, k0, 20);
    x4LoadState(1, k1, 20);
    x4LoadState(2, k2, 20);
    x4LoadState(3, k3, 20);
    store<v128>(LIVE, i32x4.splat(-1));
    compress<v128>(STATE, WBUF, LIVE);
    x4StoreDigest(0, o0);
    x4StoreDigest(1, o1);
    x4StoreDigest(2, o2);
    x4StoreDigest(3, o3);
  } else {
    hmacSha1(k0, s0, l0, o0);
    hmacSha1(k1, s1, l1, o1);
    hmacSha1(k2, s2, l2, o2);
    hmacSha1(k3, s3, l3, o3);
  }
}
