// The static memory map of the core. Every region has a fixed place from instantiation on; nothing is
// ever allocated (runtime "stub", no heap use). The host asks for offsets through the exported getters
// and never hard-codes them. All regions are 64-byte aligned.
//
//   region          size                          what lives there
//   AES_KEYS        AES_SLOTS * AES_SLOT_BYTES    expanded AES round keys, bitsliced (one slot per key)
//   HMAC_KEYS       HMAC_SLOTS * HMAC_SLOT_BYTES  HMAC-SHA1 inner and outer chaining states (2 x 20 bytes)
//   SALTS           SALT_SLOTS * 16               SRTP master and session salts (14 bytes, zero-padded)
//   SCRATCH         SCRATCH_BYTES                 keys on their way in (zeroed after use)
//   ARENA           ARENA_BYTES                   packets and messages, transformed in place

export const AES_SLOTS: u32 = 192;
// 15 round keys (AES-256) of 8 lanes of 16 bytes: enough for both the v128 and the u64 layout.
export const AES_SLOT_BYTES: u32 = 2048;
export const HMAC_SLOTS: u32 = 128;
export const SALT_SLOTS: u32 = 192;
export const SALT_SLOT_BYTES: u32 = 16;
export const HMAC_SLOT_BYTES: u32 = 64;
export const SCRATCH_BYTES: u32 = 4096;
export const ARENA_BYTES: u32 = 1024 * 1024 + 64 * 1024;

// @ts-ignore: decorator
@inline function align64(x: usize): usize { return (x + 63) & ~(<usize>63); }

export const AES_KEYS: usize = align64(__heap_base);
export const HMAC_KEYS: usize = AES_KEYS + <usize>(AES_SLOTS * AES_SLOT_BYTES);
export const SALTS: usize = HMAC_KEYS + <usize>(HMAC_SLOTS * HMAC_SLOT_BYTES);
export const SCRATCH: usize = SALTS + <usize>(SALT_SLOTS * SALT_SLOT_BYTES);
export const ARENA: usize = SCRATCH + <usize>SCRATCH_BYTES;
export const MEMORY_END: usize = ARENA + <usize>ARENA_BYTES;

export function aesKeySlot(slot: u32): usize { return AES_KEYS + <usize>(slot * AES_SLOT_BYTES); }
export function hmacKeySlot(slot: u32): usize { return HMAC_KEYS + <usize>(slot * HMAC_SLOT_BYTES); }
export function saltSlot(slot: u32): usize { return SALTS + <usize>(slot * SALT_SLOT_BYTES); }
