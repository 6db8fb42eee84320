// One suite, several backends: the same vectors and cross-checks run against the SIMD core, the
// scalar core and an independent reference (node:crypto for AES, @noble/hashes for SHA-1/HMAC).
import { createCipheriv } from "node:crypto";
import { sha1 as nobleSha1 } from "@noble/hashes/legacy.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { loadCore, type CoreFlavor } from "../../src/wasm/index.js";

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

export function wasmBackend(flavor: CoreFlavor): KernelBackend {
  const core = loadCore({ flavor });
  return {
    name: `wasm-${flavor}`,
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

const aesName = (key: Uint8Array, mode: string) => `aes-${key.length * 8}-${mode}`;

export const referenceBackend: KernelBackend = {
  name: "reference (node:crypto + @noble/hashes)",
  aesEcb(key, input) {
    const c = createCipheriv(aesName(key, "ecb"), key, null).setAutoPadding(false);
    return new Uint8Array(Buffer.concat([c.update(input), c.final()]));
  },
  aesCm(key, iv, data) {
    const c = createCipheriv(aesName(key, "ctr"), key, iv);
    return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
  },
  sha1: (data) => nobleSha1(data),
  hmacSha1: (key, data) => nobleHmac(nobleSha1, key, data),
  sha1x4: (messages) => messages.map((m) => nobleSha1(m)),
  hmacSha1x4: (keys, messages) => messages.map((m, i) => nobleHmac(nobleSha1, keys[i]!, m)),
};

export const allBackends: KernelBackend[] = [wasmBackend("simd"), wasmBackend("scalar"), referenceBackend];
export const wasmBackends: KernelBackend[] = [wasmBackend("simd"), wasmBackend("scalar")];

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
export const utf8 = (s: string) => new TextEncoder().encode(s);
