// The kernels behind one interface, so that the kernel vectors run on the SIMD core, the scalar core and
// (in Node, test/helpers/backends.ts) an independent reference. The WASM backend is browser-safe.
import type { CryptoCore } from "./library.js";

export interface KernelBackend {
  readonly name: string;
  aesEcb(key: Uint8Array, input: Uint8Array): Uint8Array;
  /** data XOR AES-CM keystream(key, iv), as a new array. */
  aesCm(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  sha1(data: Uint8Array): Uint8Array;
  hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array;
  sha1x4(messages: Uint8Array[]): Uint8Array[];
  hmacSha1x4(keys: Uint8Array[], messages: Uint8Array[]): Uint8Array[];
}

export function wasmBackend(core: CryptoCore): KernelBackend {
  return {
    name: `wasm-${core.flavor}`,
    aesEcb(key, input) {
      core.setAesKey(0, key);
      return core.aesEncryptBlocks(0, input);
    },
    aesCm(key, iv, data) {
      core.setAesKey(0, key);
      const out = data.slice();
      core.aesCmXor(0, iv, out);
      return out;
    },
    sha1: (data) => core.sha1(data),
    hmacSha1(key, data) {
      core.setHmacKey(0, key);
      return core.hmacSha1(0, data);
    },
    sha1x4: (messages) => core.sha1x4(messages),
    hmacSha1x4(keys, messages) {
      // Deliberately not slots 0..3 in order, so lane ↔ slot mix-ups show.
      const slots = [5, 2, 7, 0];
      keys.forEach((k, i) => core.setHmacKey(slots[i]!, k));
      return core.hmacSha1x4(slots, messages);
    },
  };
}
