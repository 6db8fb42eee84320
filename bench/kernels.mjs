// Kernel benchmark: AES-128-CM keystream, HMAC-SHA1 and SHA-1 over 160/1200/1400 bytes, both WASM
// builds against node:crypto, @noble/ciphers, @noble/hashes and hash-wasm, all in one process.
// Prints a table (median ns per operation) and writes bench/results/kernels.json.
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { ctr } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { createHMAC, createSHA1 } from "hash-wasm";
import { loadCore } from "../dist/wasm/index.js";
import { runSuite, writeResults } from "./harness.mjs";

const SIZES = [160, 1200, 1400];
const key = randomBytes(16);
const iv = Buffer.concat([randomBytes(12), Buffer.alloc(4)]);
const cores = { "wasm-simd": loadCore({ flavor: "simd" }), "wasm-scalar": loadCore({ flavor: "scalar" }) };
const hashWasmHmac = await createHMAC(createSHA1(), key);

const cases = [];
for (const bytes of SIZES) {
  const data = randomBytes(bytes);
  const add = (impl, primitive, fn, perOp = 1) => cases.push({ impl, primitive, bytes, fn, perOp });

  for (const [name, core] of Object.entries(cores)) {
    core.setAesKey(0, key);
    core.setHmacKey(0, key);
    core.arena.set(iv, 0);
    core.arena.set(data, 16);
    // Four messages for the 4-lane SHA-1: arena offsets [at, len, outAt].
    const lanes = [0, 1, 2, 3].flatMap((i) => [16, bytes, 16 + bytes + 20 * i]);
    add(name, "aes-128-cm", () => core.aesCmXorInArena(0, 0, 16, bytes));
    add(name, "hmac-sha1", () => core.hmacSha1InArena(0, 16, bytes, 16 + bytes));
    add(name, "sha1", () => core.sha1InArena(16, bytes, 16 + bytes));
    add(`${name} 4-lane (per message)`, "sha1", () => core.sha1x4InArena(lanes), 4);
  }
  // The copying convenience API, for what a caller with its own buffers pays.
  const own = Buffer.from(data);
  add("wasm-simd (copy in/out)", "aes-128-cm", () => cores["wasm-simd"].aesCmXor(0, iv, own));

  const reused = createCipheriv("aes-128-ctr", key, iv);
  add("node:crypto new cipher", "aes-128-cm", () => createCipheriv("aes-128-ctr", key, iv).update(data));
  add("node:crypto reused cipher", "aes-128-cm", () => reused.update(data));
  add("@noble/ciphers ctr", "aes-128-cm", () => ctr(key, iv).encrypt(data));

  add("node:crypto createHmac", "hmac-sha1", () => createHmac("sha1", key).update(data).digest());
  add("@noble/hashes hmac", "hmac-sha1", () => hmac(sha1, key, data));
  add("hash-wasm hmac", "hmac-sha1", () => {
    hashWasmHmac.init();
    hashWasmHmac.update(data);
    return hashWasmHmac.digest("binary");
  });
  add("@noble/hashes sha1", "sha1", () => sha1(data));
}

const results = runSuite(cases);
writeResults("kernels", results);
