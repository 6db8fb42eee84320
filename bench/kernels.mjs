// Kernel benchmark: AES-128-CM keystream, HMAC-SHA1 and SHA-1 over 160/1200/1400 bytes, both WASM
// builds against node:crypto, @noble/ciphers, @noble/hashes and hash-wasm, all in one process.
// Prints a table (median ns per operation over the trials), writes bench/results/kernels.json and draws
// docs/charts/kernels.svg (1200 bytes: each primitive per implementation).
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { ctr } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { createHMAC, createSHA1 } from "hash-wasm";
import { loadCore } from "../dist/wasm/index.js";
import { runSuite, TRIALS, writeChart, writeResults } from "./harness.mjs";
import { costChart } from "./cost-chart.mjs";

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

const FAMILY = {
  "wasm-simd": "ours, SIMD", "wasm-scalar": "ours, scalar", "wasm-simd 4-lane (per message)": "ours, SIMD, 4 lanes (per message)",
  "wasm-scalar 4-lane (per message)": "ours, scalar, 4 lanes (per message)", "wasm-simd (copy in/out)": "ours, SIMD, copying API",
  "node:crypto reused cipher": "node:crypto, reused cipher", "node:crypto new cipher": "node:crypto, new object per call",
  "node:crypto createHmac": "node:crypto, new object per call", "@noble/ciphers ctr": "@noble", "@noble/hashes hmac": "@noble", "@noble/hashes sha1": "@noble",
  "hash-wasm hmac": "hash-wasm",
};
const at = (impl, primitive) => results.find((r) => r.impl === impl && r.primitive === primitive && r.bytes === 1200)?.nsPerOp;
const aesVsReused = (at("node:crypto reused cipher", "aes-128-cm") / at("wasm-simd", "aes-128-cm")).toFixed(2);
writeChart("kernels", costChart({
  title: "Kernels over 1200 bytes",
  note: `${TRIALS} trials of benchmark.js per case, all implementations interleaved in one process. Same run: AES-128-CM SIMD / ` +
    `node:crypto's reused (AES-NI) cipher = ${aesVsReused} in speed (node:crypto time / ours).`,
  groups: ["aes-128-cm", "hmac-sha1", "sha1"],
  series: [...new Set(Object.values(FAMILY))],
  cells: results.filter((r) => r.bytes === 1200 && FAMILY[r.impl]).map((r) => ({ group: r.primitive, series: FAMILY[r.impl], nsPerOp: r.nsPerOp, trialsNs: r.trialsNs })),
}));
