// AES (128/192/256) encryption: key schedule, ECB and AES-CM (RFC 3711 counter mode) on top of the
// constant-time bitsliced core in aes_ct.ts. The lane type is chosen at compile time:
// v128 (8 blocks per batch) in the SIMD build, u64 (4 blocks per batch) in the scalar build.
//
// Key slot layout (AES_SLOT_BYTES = 2048):
//   [0, 8 * L * (rounds + 1))  bitsliced round keys, 8 words of L bytes per round (L = 16 with SIMD,
//                              8 without); keys 1..rounds are pre-XORed with the S-box output
//                              complement (bytes ^ 0x63: the circuit's 4 NOTs are dropped, and an
//                              all-equal-bytes constant passes ShiftRows and MixColumns unchanged);
//                              bytes in FIPS order (the v128 core transposes them when bitslicing);
//                              u64: keys 1..rounds-1 permuted by ShiftRows^-r (fixslicing)
// The round count (10, 12, 14 for 16-, 24-, 32-byte keys) is not stored: the host, which knows each
// slot's key length (public), passes it. Every value loaded from memory is then secret data, which is
// what the constant-time checker assumes.
// All loops and branches below depend only on public lengths, counts and the round number.
import { aesKeySlot, AES_SLOT_BYTES } from "./layout";
import { aesBatch, aesBatchFrom1, BATCH_STORE, BATCH_XOR, BATCH_RAW, BATCH_SUB1 } from "./aes_ct";

const BATCH: u32 = ASC_FEATURE_SIMD ? 8 : 4;
const BATCH_BYTES: u32 = BATCH * 16;

// Static scratch (128 bytes of blocks, 128 of keystream, 240 of raw key schedule). Wiped after use.
const BLK: usize = memory.data(128, 16);   // one batch of blocks (counters / ECB tail)
const KS: usize = memory.data(128, 16);    // keystream of the last batch
const W: usize = memory.data(240, 16);     // raw key schedule words (60 x u32)
// Counter mode's round-1 shortcut (SIMD): 3 x 8 bitsliced v128 words (the shared part, the
// broadcast key 0, the packed varying part at CST + 256: aesBatchFrom1). Wiped after use.
const R1: usize = memory.data(384, 16);
const CST: usize = R1, K0C: usize = R1 + 128, VAR: usize = R1 + 256;

// @ts-ignore: decorator
@inline function batch(skey: usize, rounds: u32, inp: usize, out: usize, mode: u32): void {
  if (ASC_FEATURE_SIMD) aesBatch<v128>(skey, rounds, inp, out, mode);
  else aesBatch<u64>(skey, rounds, inp, out, mode);
}

// @ts-ignore: decorator
@inline function wipe(p: usize, n: usize): void { memory.fill(p, 0, n); }

/** S-box applied to each byte of w (the key schedule's SubWord), via one bitsliced u64 batch. */
function subWord(w: u32): u32 {
  // 4 blocks whose 4 columns all equal w, one round with all-zero round keys (KS, zeroed, serves
  // as the 2 x 64 bytes of u64 round keys): output column 0 of block 0 = ShiftRows(SubBytes(.))
  // = S(w) bytewise, since all columns are equal. The circuit leaves bits 0, 1, 5, 6 of every byte
  // complemented (that is folded into the round keys), so undo that with ^ 0x63636363.
  for (let i: usize = 0; i < 16; i++) store<u32>(BLK + (i << 2), w);
  wipe(KS, 128);
  aesBatch<u64>(KS, 1, BLK, BLK, BATCH_STORE);
  return load<u32>(BLK) ^ 0x63636363;
}

export function aesSetKey(slot: u32, key: usize, keyLen: u32): void {
  const skey = aesKeySlot(slot);
  const nk = keyLen >> 2;
  const rounds = aesRounds(keyLen);
  const nkf = (rounds + 1) << 2;
  for (let i: u32 = 0; i < nk; i++) store<u32>(W + (i << 2), load<u32>(key + (i << 2)));
  let tmp = load<u32>(W + ((nk - 1) << 2));
  let rcon: u32 = 1;
  for (let i = nk, j: u32 = 0; i < nkf; i++) {
    if (j == 0) {
      tmp = subWord(rotr<u32>(tmp, 8)) ^ rcon;
      rcon = ((rcon << 1) ^ (0x11b & (0 - (rcon >> 7)))) & 0xff;
    } else if (nk > 6 && j == 4) {
      tmp = subWord(tmp);
    }
    tmp ^= load<u32>(W + ((i - nk) << 2));
    store<u32>(W + (i << 2), tmp);
    if (++j == nk) j = 0;
  }
  // Bitslice each round key: replicate it into every block of a batch and transpose.
  wipe(skey, AES_SLOT_BYTES);
  const L: usize = ASC_FEATURE_SIMD ? 16 : 8;
  for (let r: u32 = 0; r <= rounds; r++) {
    const c: u32 = (0 - <u32>(r != 0)) & 0x63; // S-box complement folding (rounds 1..n)
    // The fixsliced u64 core (aes_ct.ts, ROT1) wants keys 1..rounds-1 in the frame ShiftRows^-r:
    // byte (row, col) of the key at (row, col - r * row).
    const f: usize = ASC_FEATURE_SIMD || r == rounds ? 0 : <usize>r;
    for (let b: usize = 0; b < <usize>BATCH; b++) {
      for (let i: usize = 0; i < 16; i++) { // i = 4 * col + row (FIPS order)
        const from = ((((i >> 2) - f * (i & 3)) & 3) << 2) + (i & 3);
        store<u8>(BLK + (b << 4) + i, load<u8>(W + (<usize>r << 4) + from) ^ <u8>c);
      }
    }
    const out = skey + <usize>r * 8 * L;
    batch(0, 0, BLK, out, BATCH_RAW);
  }
  wipe(W, 240);
  wipe(BLK, 128);
}

export function aesWipeKey(slot: u32): void {
  wipe(aesKeySlot(slot), AES_SLOT_BYTES);
}

/** Rounds of AES with a key of `keyLen` bytes (FIPS-197 §5: Nr = Nk + 6). */
// @ts-ignore: decorator
@inline export function aesRounds(keyLen: u32): u32 { return (keyLen >> 2) + 6; }

export function aesEncryptBlocks(slot: u32, rounds: u32, src: usize, dst: usize, blocks: u32): void {
  const skey = aesKeySlot(slot);
  while (blocks >= BATCH) {
    batch(skey, rounds, src, dst, BATCH_STORE);
    src += BATCH_BYTES; dst += BATCH_BYTES; blocks -= BATCH;
  }
  if (blocks > 0) {
    const n = <usize>(blocks << 4);
    memory.copy(BLK, src, n);
    batch(skey, rounds, BLK, BLK, BATCH_STORE);
    memory.copy(dst, BLK, n);
    wipe(BLK, 128);
  }
}

/**
 * AES-CM with round 1 done once per call for what all blocks share (SIMD; after the counter-mode
 * caching of Bernstein-Schwabe, "New AES software speed records", 2008). Only word 3 of a counter
 * block varies, i.e. column 3 of the state, so after round 1's SubBytes columns 0-2 are the same for
 * every block: one S-box pass on the IV gives them, and one S-box pass gives column 3 of four batches
 * at once (batch g's four bytes in column g of the pass; the input transpose of the counters is shared
 * the same way). Each batch then starts at round 1's ShiftRows. The counters' carries are computed,
 * not branched on: the time depends on len only.
 */
function aesCmXorSimd(skey: usize, rounds: u32, w0: u32, w1: u32, w2: u32, ctr: u32, data: usize, len: u32): void {
  for (let b: usize = 0; b < 8; b++) {
    store<u32>(BLK + (b << 4), w0); store<u32>(BLK + (b << 4), w1, 4); store<u32>(BLK + (b << 4), w2, 8);
    store<u32>(BLK + (b << 4), 0, 12);
  }
  aesBatch<v128>(skey, 1, BLK, CST, BATCH_SUB1);
  // Column 3 (row-major bytes 3, 7, 11, 15) of the shared part is cleared; key 0's column 3 is
  // broadcast to all four columns (the packed pass's AddRoundKey).
  const keep = i32x4.splat(0x00FFFFFF);
  for (let i: usize = 0; i < 128; i += 16) {
    v128.store(CST + i, v128.and(v128.load(CST + i), keep));
    const k = v128.load(skey + i);
    v128.store(K0C + i, i8x16.shuffle(k, k, 3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15));
  }
  let left = len;
  while (left > 0) {
    // pseudo-block b, word g = the counter of block b of batch g (the transpose puts it in column g)
    const c = i32x4.add(i32x4.splat(ctr), i32x4(0, 8, 16, 24));
    for (let b: usize = 0; b < 8; b++) {
      const cb = i32x4.add(c, i32x4.splat(<i32>b)); // big-endian words
      v128.store(BLK + (b << 4), i8x16.shuffle(cb, cb, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
    }
    aesBatch<v128>(K0C, 1, BLK, VAR, BATCH_SUB1);
    for (let g: u32 = 0; g < 4 && left > 0; g++) {
      if (left >= BATCH_BYTES) {
        aesBatchFrom1<v128>(skey, rounds, CST, g, data, BATCH_XOR);
        data += BATCH_BYTES; left -= BATCH_BYTES;
      } else { // the last, partial batch: keystream to KS, then XOR the bytes needed
        aesBatchFrom1<v128>(skey, rounds, CST, g, KS, BATCH_STORE);
        xorTail(data, left);
        left = 0;
      }
    }
    ctr += 4 * BATCH;
  }
  wipe(R1, 384);
}

// @ts-ignore: decorator
@inline function xorTail(data: usize, left: u32): void {
  let o: usize = 0;
  for (; o + 8 <= <usize>left; o += 8) store<u64>(data + o, load<u64>(data + o) ^ load<u64>(KS + o));
  for (; o < <usize>left; o++) store<u8>(data + o, load<u8>(data + o) ^ load<u8>(KS + o));
}

export function aesCmXor(slot: u32, rounds: u32, iv: usize, data: usize, len: u32): void {
  if (len == 0) return;
  const skey = aesKeySlot(slot);
  // Counter blocks: words 0..2 of the IV are fixed for the whole call; only word 3 changes.
  const w0 = load<u32>(iv), w1 = load<u32>(iv, 4), w2 = load<u32>(iv, 8);
  let ctr = bswap<u32>(load<u32>(iv, 12));
  if (ASC_FEATURE_SIMD) {
    aesCmXorSimd(skey, rounds, w0, w1, w2, ctr, data, len);
  } else {
    for (let b: usize = 0; b < <usize>BATCH; b++) {
      store<u32>(BLK + (b << 4), w0); store<u32>(BLK + (b << 4), w1, 4); store<u32>(BLK + (b << 4), w2, 8);
    }
    let left = len;
    for (; left >= BATCH_BYTES; left -= BATCH_BYTES, data += BATCH_BYTES, ctr += BATCH) {
      for (let b: u32 = 0; b < BATCH; b++) store<u32>(BLK + (<usize>b << 4), bswap<u32>(ctr + b), 12);
      batch(skey, rounds, BLK, data, BATCH_XOR);
    }
    if (left > 0) { // the last, partial batch: keystream to KS, then XOR the bytes needed
      for (let b: u32 = 0; b < BATCH; b++) store<u32>(BLK + (<usize>b << 4), bswap<u32>(ctr + b), 12);
      batch(skey, rounds, BLK, KS, BATCH_STORE);
      xorTail(data, left);
    }
  }
  wipe(KS, BATCH_BYTES);
  wipe(BLK, BATCH_BYTES);
}
