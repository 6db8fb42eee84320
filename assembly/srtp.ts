// SRTP/SRTCP transforms (RFC 3711): the AES-CM IV, the AES-CM PRF key derivation, and the
// encrypt-then-MAC / verify-then-decrypt steps. Packet parsing, ROC, replay and key choice are the host's;
// everything here is public-length, constant-time work on bytes the host placed in the arena.
import { aesCmXor, aesRounds, aesSetKey } from "./aes";
import { hmacSetKey, hmacSha1, hmacSha1x4 } from "./hmac";
import { ctEqual } from "./ct";
import { saltSlot, SALT_SLOT_BYTES } from "./layout";

const SHA1_BYTES: u32 = 20;
const SALT_BYTES: u32 = 14;
const AUTH_KEY_BYTES: u32 = 20;

const IV: usize = memory.data(16, 16);
const DIGEST: usize = memory.data(SHA1_BYTES, 16);
const RECEIVED_TAG: usize = memory.data(SHA1_BYTES, 16);
const KDF_OUT: usize = memory.data(32, 16);
const DIGESTS_X4: usize = memory.data(4 * SHA1_BYTES, 16);
const RECEIVED_TAGS_X4: usize = memory.data(4 * SHA1_BYTES, 16);
const SAVED_X4: usize = memory.data(16, 16);

/** Stores a 14-byte salt (zero-padded to 16) in salt slot `slot`. */
export function saltSet(slot: u32, src: usize): void {
  const at = saltSlot(slot);
  memory.fill(at, 0, SALT_SLOT_BYTES);
  memory.copy(at, src, SALT_BYTES);
}

export function saltWipe(slot: u32): void {
  memory.fill(saltSlot(slot), 0, SALT_SLOT_BYTES);
}

/**
 * IV = (salt · 2^16) XOR (ssrc · 2^64) XOR (index · 2^16)  (RFC 3711 §4.1.1), i.e. the 16 bytes
 * `00000000 | SSRC | index(6) | 0000` XOR `salt(14) | 0000`. The KDF's IV (§4.3.1) is the same shape with
 * the label in the SSRC's last byte and r as the index: label at byte 7 for SRTP and SRTCP alike (RFC 3711
 * errata 3712, as libsrtp).
 */
// @ts-ignore: decorator
@inline function buildIv(salt: u32, ssrc: u32, indexHi: u32, indexLo: u32): void {
  const s = saltSlot(salt);
  store<u32>(IV, load<u32>(s));
  store<u32>(IV + 4, load<u32>(s + 4) ^ bswap<u32>(ssrc));
  store<u32>(IV + 8, load<u32>(s + 8) ^ bswap<u32>((indexHi << 16) | (indexLo >>> 16)));
  store<u32>(IV + 12, load<u32>(s + 12) ^ bswap<u32>(indexLo << 16));
}

/**
 * The AES-CM PRF (RFC 3711 §4.3.3): `len` (≤ 32) bytes of keystream for `label` and r = rHi·2^32 + rLo,
 * keyed with the master key in `masterSlot` and the master salt in `masterSalt`, to `out`.
 */
export function srtpKdf(
  masterSlot: u32, masterRounds: u32, masterSalt: u32, label: u32, rHi: u32, rLo: u32, out: usize, len: u32,
): void {
  buildIv(masterSalt, label, rHi, rLo);
  memory.fill(out, 0, len);
  aesCmXor(masterSlot, masterRounds, IV, out, len);
}

/**
 * Derives one direction's session keys (labels labelBase+0 encryption, +1 authentication, +2 salt) and
 * installs them: the encryption key expanded in `aesSlot`, the HMAC states in `hmacSlot`, the salt in
 * `saltOut`. The raw session keys exist only in KDF_OUT, which is zeroed before returning.
 */
export function srtpDeriveSessionKeys(
  masterSlot: u32, masterSalt: u32, labelBase: u32, rHi: u32, rLo: u32, keyLen: u32,
  aesSlot: u32, hmacSlot: u32, saltOut: u32,
): void {
  // RFC 6188 §3.1: the PRF is AES-CM with the master key's own size, which is also the session key's.
  const rounds = aesRounds(keyLen);
  srtpKdf(masterSlot, rounds, masterSalt, labelBase, rHi, rLo, KDF_OUT, keyLen);
  aesSetKey(aesSlot, KDF_OUT, keyLen);
  srtpKdf(masterSlot, rounds, masterSalt, labelBase + 1, rHi, rLo, KDF_OUT, AUTH_KEY_BYTES);
  hmacSetKey(hmacSlot, KDF_OUT, AUTH_KEY_BYTES);
  srtpKdf(masterSlot, rounds, masterSalt, labelBase + 2, rHi, rLo, KDF_OUT, SALT_BYTES);
  saltSet(saltOut, KDF_OUT);
  memory.fill(KDF_OUT, 0, 32);
  memory.fill(IV, 0, 16);
}

/** XORs the AES-CM keystream of (session salt, ssrc, index) into `data[0..len)`. */
export function srtpXor(
  aesSlot: u32, rounds: u32, salt: u32, ssrc: u32, indexHi: u32, indexLo: u32, data: usize, len: u32,
): void {
  buildIv(salt, ssrc, indexHi, indexLo);
  aesCmXor(aesSlot, rounds, IV, data, len);
}

/**
 * The HMAC-SHA1 message of SRTP is the authenticated portion followed by the ROC (RFC 3711 §4.2); SRTCP
 * has no ROC. The ROC is written at pkt+authLen (the MKI/tag area) for the MAC; verification puts the
 * original 4 bytes back, so a rejected packet is left exactly as it came.
 */
// @ts-ignore: decorator
@inline function appendRoc(pkt: usize, authLen: u32, roc: u32, withRoc: bool): u32 {
  if (withRoc) store<u32>(pkt + authLen, bswap<u32>(roc));
  return withRoc ? authLen + 4 : authLen;
}

/** Encrypt-then-MAC (RFC 3711 §3.3): encrypts [encFrom, encTo), writes the `tagLen`-byte tag at `tagAt`. */
export function srtpProtect(
  aesSlot: u32, rounds: u32, hmacSlot: u32, salt: u32, ssrc: u32, indexHi: u32, indexLo: u32,
  pkt: usize, encFrom: u32, encTo: u32, authLen: u32, roc: u32, withRoc: bool, tagAt: u32, tagLen: u32,
): void {
  srtpXor(aesSlot, rounds, salt, ssrc, indexHi, indexLo, pkt + encFrom, encTo - encFrom);
  hmacSha1(hmacSlot, pkt, appendRoc(pkt, authLen, roc, withRoc), DIGEST);
  memory.copy(pkt + tagAt, DIGEST, tagLen);
}

/** 1 when the `tagLen`-byte tag at `tagAt` verifies, in constant time; decrypting is the host's next call. */
export function srtpVerify(hmacSlot: u32, pkt: usize, authLen: u32, roc: u32, withRoc: bool, tagAt: u32, tagLen: u32): u32 {
  memory.copy(RECEIVED_TAG, pkt + tagAt, tagLen);
  const saved = load<u32>(pkt + authLen);
  hmacSha1(hmacSlot, pkt, appendRoc(pkt, authLen, roc, withRoc), DIGEST);
  store<u32>(pkt + authLen, saved);
  return ctEqual(RECEIVED_TAG, DIGEST, tagLen);
}

/** The four messages' HMACs (with their ROCs appended) to DIGESTS_X4, in the 4-lane HMAC-SHA1. */
// @ts-ignore: decorator
@inline function macX4(
  withRoc: bool, s0: u32, p0: usize, a0: u32, r0: u32, s1: u32, p1: usize, a1: u32, r1: u32,
  s2: u32, p2: usize, a2: u32, r2: u32, s3: u32, p3: usize, a3: u32, r3: u32,
): void {
  hmacSha1x4(
    s0, p0, appendRoc(p0, a0, r0, withRoc), DIGESTS_X4,
    s1, p1, appendRoc(p1, a1, r1, withRoc), DIGESTS_X4 + SHA1_BYTES,
    s2, p2, appendRoc(p2, a2, r2, withRoc), DIGESTS_X4 + 2 * SHA1_BYTES,
    s3, p3, appendRoc(p3, a3, r3, withRoc), DIGESTS_X4 + 3 * SHA1_BYTES,
  );
}

/**
 * Four SRTP tags at once (the 4-lane HMAC-SHA1 of the batch path): lane k authenticates pkt_k[0..auth_k)
 * ‖ roc_k and writes `tagLen` bytes at pkt_k + tagAt_k. Encryption is done before, per packet.
 */
export function srtpTagX4(
  tagLen: u32, withRoc: bool,
  s0: u32, p0: usize, a0: u32, r0: u32, t0: u32,
  s1: u32, p1: usize, a1: u32, r1: u32, t1: u32,
  s2: u32, p2: usize, a2: u32, r2: u32, t2: u32,
  s3: u32, p3: usize, a3: u32, r3: u32, t3: u32,
): void {
  macX4(withRoc, s0, p0, a0, r0, s1, p1, a1, r1, s2, p2, a2, r2, s3, p3, a3, r3);
  memory.copy(p0 + t0, DIGESTS_X4, tagLen);
  memory.copy(p1 + t1, DIGESTS_X4 + SHA1_BYTES, tagLen);
  memory.copy(p2 + t2, DIGESTS_X4 + 2 * SHA1_BYTES, tagLen);
  memory.copy(p3 + t3, DIGESTS_X4 + 3 * SHA1_BYTES, tagLen);
}

// @ts-ignore: decorator
@inline function saveTag(lane: u32, pkt: usize, authLen: u32, tagAt: u32, tagLen: u32): void {
  memory.copy(RECEIVED_TAGS_X4 + lane * SHA1_BYTES, pkt + tagAt, tagLen);
  store<u32>(SAVED_X4 + lane * 4, load<u32>(pkt + authLen));
}

// @ts-ignore: decorator
@inline function checkLane(lane: u32, pkt: usize, authLen: u32, tagLen: u32): u32 {
  store<u32>(pkt + authLen, load<u32>(SAVED_X4 + lane * 4));
  return ctEqual(RECEIVED_TAGS_X4 + lane * SHA1_BYTES, DIGESTS_X4 + lane * SHA1_BYTES, tagLen) << lane;
}

/** Verifies four tags at once; bit k of the result is set when lane k verifies. Packets are left as they came. */
export function srtpVerifyX4(
  tagLen: u32, withRoc: bool,
  s0: u32, p0: usize, a0: u32, r0: u32, t0: u32,
  s1: u32, p1: usize, a1: u32, r1: u32, t1: u32,
  s2: u32, p2: usize, a2: u32, r2: u32, t2: u32,
  s3: u32, p3: usize, a3: u32, r3: u32, t3: u32,
): u32 {
  saveTag(0, p0, a0, t0, tagLen);
  saveTag(1, p1, a1, t1, tagLen);
  saveTag(2, p2, a2, t2, tagLen);
  saveTag(3, p3, a3, t3, tagLen);
  macX4(withRoc, s0, p0, a0, r0, s1, p1, a1, r1, s2, p2, a2, r2, s3, p3, a3, r3);
  return checkLane(0, p0, a0, tagLen) | checkLane(1, p1, a1, tagLen) | checkLane(2, p2, a2, tagLen) | checkLane(3, p3, a3, tagLen);
}

/** Zeroes the transforms' static scratch (IVs, digests, saved tags): called when a context closes. */
export function srtpWipeScratch(): void {
  memory.fill(IV, 0, 16);
  memory.fill(DIGEST, 0, SHA1_BYTES);
  memory.fill(RECEIVED_TAG, 0, SHA1_BYTES);
  memory.fill(KDF_OUT, 0, 32);
  memory.fill(DIGESTS_X4, 0, 4 * SHA1_BYTES);
  memory.fill(RECEIVED_TAGS_X4, 0, 4 * SHA1_BYTES);
  memory.fill(SAVED_X4, 0, 16);
}
