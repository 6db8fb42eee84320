// MIKEY TEK derivations per second (RFC 3830 §4.1.3: TEK + salt from a 16-byte TGK; and Alternative 1,
// docs/key-derivation.md §3, with an 8-byte TEK_RAND2 from the MKI): WASM (SIMD, scalar) against @noble/hashes.
// "noble reference" is the straight transcription of §4.1.2 that test/helpers/mikey-reference.ts uses
// (hmac(sha1, s, m) per HMAC); "noble keyed once" keys each piece once and clones the state, the
// fastest noble we know how to write. Run `npx tsc -p tsconfig.json` first. Writes bench/results/mikey-prf.json.
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { loadCore } from "../dist/wasm/index.js";
import { deriveTekSalt } from "../dist/mikey/prf.js";
import { buildMki, deriveSrtpMasterKeys } from "../dist/mbms/key-hierarchy.js";
import { runSuite, writeResults } from "./harness.mjs";

const seq = (start, len) => Uint8Array.from({ length: len }, (_, i) => (start + i) & 255);
const hex = (b) => Buffer.from(b).toString("hex");
const TEK = 0x2ad01c64, SALT = 0x39a2c14b;
const label = (c, csId, csbId, rand, extra = new Uint8Array(0)) => {
  const out = new Uint8Array(9 + rand.length + extra.length), v = new DataView(out.buffer);
  v.setUint32(0, c); out[4] = csId; v.setUint32(5, csbId); out.set(rand, 9); out.set(extra, 9 + rand.length);
  return out;
};
const cat = (a, b) => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };

// RFC 3830 §4.1.2, as in the test reference: every HMAC keyed from scratch.
function prfReference(inkey, lbl, outLen) {
  const m = Math.ceil(outLen / 20), acc = new Uint8Array(20 * m);
  for (let at = 0; at < inkey.length; at += 32) {
    const s = inkey.subarray(at, Math.min(at + 32, inkey.length));
    let a = lbl;
    for (let i = 0; i < m; i++) {
      a = hmac(sha1, s, a);
      const p = hmac(sha1, s, cat(a, lbl));
      for (let j = 0; j < 20; j++) acc[20 * i + j] ^= p[j];
    }
  }
  return acc.slice(0, outLen);
}
// The same, each piece keyed once (hmac.create) and cloned per HMAC.
function prfKeyedOnce(inkey, lbl, outLen) {
  const m = Math.ceil(outLen / 20), acc = new Uint8Array(20 * m);
  for (let at = 0; at < inkey.length; at += 32) {
    const keyed = hmac.create(sha1, inkey.subarray(at, Math.min(at + 32, inkey.length)));
    let a = lbl;
    for (let i = 0; i < m; i++) {
      a = keyed.clone().update(a).digest();
      const p = keyed.clone().update(a).update(lbl).digest();
      for (let j = 0; j < 20; j++) acc[20 * i + j] ^= p[j];
    }
  }
  return acc.slice(0, outLen);
}

const tgk = seq(0x10, 16), rand = seq(0x20, 16), csbId = 0x12345678, csId = 1, rand2 = seq(0xa0, 8);
const tgkId = 7, mki = buildMki(tgkId, rand2);
const cores = { "wasm-simd": loadCore({ flavor: "simd" }), "wasm-scalar": loadCore({ flavor: "scalar" }) };

// Sanity: every implementation gives docs/key-derivation.md §5's TEK before anything is timed.
const expected = "c66515e32b19e756a9b1f0b36fcb79cb";
for (const f of [prfReference, prfKeyedOnce]) if (hex(f(tgk, label(TEK, csId, csbId, rand), 16)) !== expected) throw new Error(`${f.name} is wrong`);
for (const core of Object.values(cores)) if (hex(deriveTekSalt(tgk, { csId, csbId, rand }, core).tek) !== expected) throw new Error("wasm is wrong");

const cases = [];
const add = (impl, primitive, fn) => cases.push({ impl, primitive, bytes: 30, fn, perOp: 1 });
for (const [name, core] of Object.entries(cores)) {
  add(name, "tek+salt (§4.1.3)", () => deriveTekSalt(tgk, { csId, csbId, rand }, core));
  add(name, "tek+salt alt1 (from MKI)", () => deriveSrtpMasterKeys({ tgk, tgkId, csbId, csId, tekRand: rand, mki }, { core }));
}
for (const [name, prf] of [["noble reference", prfReference], ["noble keyed once", prfKeyedOnce]]) {
  add(name, "tek+salt (§4.1.3)", () => [prf(tgk, label(TEK, csId, csbId, rand), 16), prf(tgk, label(SALT, csId, csbId, rand), 14)]);
  add(name, "tek+salt alt1 (from MKI)", () => {
    const r2 = mki.subarray(4);
    return [prf(tgk, label(TEK, csId, csbId, rand, r2), 16), prf(tgk, label(SALT, csId, csbId, rand, r2), 14)];
  });
}

const rows = runSuite(cases).map((r) => ({ ...r, derivationsPerS: Math.round(1e9 / r.nsPerOp) }));
const perS = (impl, primitive) => rows.find((r) => r.impl === impl && r.primitive === primitive).derivationsPerS;
const ratios = [];
for (const primitive of ["tek+salt (§4.1.3)", "tek+salt alt1 (from MKI)"]) {
  for (const base of ["noble reference", "noble keyed once"]) {
    const ratio = +(perS("wasm-simd", primitive) / perS(base, primitive)).toFixed(2);
    ratios.push({ primitive, wasm: "wasm-simd", versus: base, ratio, bar: base === "noble reference" ? (ratio >= 5 ? "met (≥ 5x)" : "MISSED (< 5x)") : "—" });
    console.log(`${primitive.padEnd(26)} wasm-simd / ${base.padEnd(17)} ${String(ratio).padStart(6)}x`);
  }
}
console.log("\nTEK derivations/s:");
for (const r of rows) console.log(`  ${r.primitive.padEnd(26)} ${r.impl.padEnd(18)} ${String(r.derivationsPerS).padStart(9)}/s`);
writeResults("mikey-prf", [...rows, ...ratios]);
