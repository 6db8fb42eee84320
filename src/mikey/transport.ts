/**
 * The keys that protect one MIKEY message (RFC 3830 §4.1.4): encr_key, auth_key and salt_key derived
 * from the PSK with the CSB ID and RAND, installed in core slots for the duration of one operation and
 * zeroed (bytes and slots) afterwards. On request, also ext_key (prf.ts deriveExtensionKey), the key of the
 * message's sealed General Extensions: derived only for a message that has some.
 */
import type { CryptoCore } from "../wasm/core.js";
import { deriveExtensionKey, deriveTransportKeys } from "./prf.js";

export interface TransportKeys {
  readonly saltKey: Uint8Array;
  /** AES-CM-128 under encr_key with the given IV; returns a new array. */
  encrypt(data: Uint8Array, iv: Uint8Array): Uint8Array;
  /** HMAC-SHA-1-160 under auth_key. */
  mac(data: Uint8Array): Uint8Array;
  /** Constant-time check of a 20-byte MAC. */
  verify(data: Uint8Array, mac: Uint8Array): boolean;
  /** AES-CM-128 under ext_key (present only when asked for with `{ extensionKey: true }`); returns a new array. */
  encryptSealed?(data: Uint8Array, iv: Uint8Array): Uint8Array;
}

export function withTransportKeys<T>(
  core: CryptoCore, psk: Uint8Array, csbId: number, rand: Uint8Array, use: (keys: TransportKeys) => T,
  options: { extensionKey?: boolean } = {},
): T {
  const { encrKey, authKey, saltKey } = deriveTransportKeys(psk, csbId, rand, {}, core);
  const aesSlot = core.aesPool.acquire();
  const hmacSlot = core.hmacPool.acquire();
  let extSlot: number | undefined;
  try {
    core.setAesKey(aesSlot, encrKey);
    core.setHmacKey(hmacSlot, authKey);
    encrKey.fill(0);
    authKey.fill(0);
    if (options.extensionKey) {
      extSlot = core.aesPool.acquire();
      const extKey = deriveExtensionKey(psk, csbId, rand, core);
      try {
        core.setAesKey(extSlot, extKey);
      } finally {
        extKey.fill(0);
      }
    }
    const xorWith = (slot: number) => (data: Uint8Array, iv: Uint8Array) => {
      const out = data.slice();
      core.aesCmXor(slot, iv, out);
      return out;
    };
    const mac = (data: Uint8Array) => core.hmacSha1(hmacSlot, data);
    return use({
      saltKey,
      encrypt: xorWith(aesSlot),
      mac,
      verify: (data, expected) => core.ctEqual(mac(data), expected),
      ...(extSlot !== undefined ? { encryptSealed: xorWith(extSlot) } : {}),
    });
  } finally {
    core.wipeAesKey(aesSlot);
    core.wipeHmacKey(hmacSlot);
    core.aesPool.release(aesSlot);
    core.hmacPool.release(hmacSlot);
    if (extSlot !== undefined) {
      core.wipeAesKey(extSlot);
      core.aesPool.release(extSlot);
    }
    saltKey.fill(0);
    encrKey.fill(0);
    authKey.fill(0);
  }
}

/** §4.2.3: IV = (salt_key XOR (0x0000 ‖ CSB_ID ‖ T)) ‖ 0x0000, T the 64-bit timestamp. */
export function kemacIv(saltKey: Uint8Array, csbId: number, t64: Uint8Array): Uint8Array {
  const iv = new Uint8Array(16);
  const view = new DataView(iv.buffer);
  view.setUint32(2, csbId >>> 0);
  iv.set(t64, 6);
  for (let i = 0; i < 14; i++) iv[i]! ^= saltKey[i]!;
  return iv;
}
