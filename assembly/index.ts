// The core's exported ABI. The host (src/wasm/core.ts) validates every argument before calling in:
// slots are in range, every (pointer, length) lies inside SCRATCH or ARENA, key lengths are legal.
// The functions here therefore never check, never trap on host-validated input, and never allocate.
import {
  AES_SLOTS, HMAC_SLOTS, SALT_SLOTS, SCRATCH, SCRATCH_BYTES, ARENA, ARENA_BYTES, MEMORY_END,
} from "./layout";

export { ctEqual } from "./ct";
export { aesSetKey, aesWipeKey, aesEncryptBlocks, aesCmXor } from "./aes";
export { sha1 } from "./sha1";
export { sha1x4 } from "./sha1x4";
export { hmacSetKey, hmacWipeKey, hmacSha1, hmacSha1x4 } from "./hmac";
export {
  saltSet, saltWipe, srtpKdf, srtpDeriveSessionKeys, srtpXor, srtpProtect, srtpVerify, srtpTagX4, srtpVerifyX4,
} from "./srtp";
export { mikeyPrf, mikeyDerivePair, mikeyDerivePairSk, mikeyLabelMax, mikeyOutMax } from "./mikey";
import { hmacWipeScratch } from "./hmac";
import { mikeyWipeScratch } from "./mikey";
import { srtpWipeScratch } from "./srtp";

/** Zeroes every module's static scratch (digests, IVs, message tails): when a context closes. */
export function wipeScratch(): void {
  hmacWipeScratch();
  srtpWipeScratch();
  mikeyWipeScratch();
}

export function simd(): bool { return ASC_FEATURE_SIMD; }
export function aesSlots(): u32 { return AES_SLOTS; }
export function hmacSlots(): u32 { return HMAC_SLOTS; }
export function saltSlots(): u32 { return SALT_SLOTS; }
export function scratchOffset(): usize { return SCRATCH; }
export function scratchBytes(): u32 { return SCRATCH_BYTES; }
export function arenaOffset(): usize { return ARENA; }
export function arenaBytes(): u32 { return ARENA_BYTES; }
export function memoryEnd(): usize { return MEMORY_END; }
