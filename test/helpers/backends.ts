// One suite, several backends: the same vectors and cross-checks run against the SIMD core, the
// scalar core and an independent reference (node:crypto for AES, @noble/hashes for SHA-1/HMAC). The
// WASM backend lives with the vector suites (test/vectors/kernel-backend.ts): they run in a browser too.
import { createCipheriv } from "node:crypto";
import { sha1 as nobleSha1 } from "@noble/hashes/legacy.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { loadCore } from "../../src/wasm/index.js";
import { wasmBackend, type KernelBackend } from "../vectors/kernel-backend.js";

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

export const wasmBackends: KernelBackend[] = [wasmBackend(loadCore({ flavor: "simd" })), wasmBackend(loadCore({ flavor: "scalar" }))];

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
