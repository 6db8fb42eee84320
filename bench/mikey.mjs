// MIKEY message costs on the BM-SC and the UE: PSK key messages built per second (one per user: the
// BM-SC's cost when every user re-keys) and opened per second (parse, timestamp, MAC, decrypt), with one
// TGK and with three. Run `npx tsc -p tsconfig.json` first. Writes bench/results/mikey.json; the TEK
// derivation rates are bench/mikey-prf.mjs (npm run bench:mikey runs both).
import { randomBytes } from "node:crypto";
import { buildMbmsKeyMessage, loadCore, openMbmsKeyMessage } from "../dist/index.js";
import { runSuite, writeResults } from "./harness.mjs";

const core = loadCore();
const NOW = Date.now();
const tgk = (i) => ({ tgkId: i, tgk: randomBytes(16), validFrom: NOW + i * 3_600_000, expiresAt: NOW + (i + 1) * 3_600_000 });
const base = {
  kek: randomBytes(16), bmscId: "bmsc.operator.example", userId: "sip:user@operator.example", serviceId: "urn:mbms:tv:1",
  csbId: 0xc0ffee01, tekRand: randomBytes(16), profile: "AES_CM_128_HMAC_SHA1_80", ssrc: 0x11223344, roc: 0,
};

const cases = [];
for (const count of [1, 3]) {
  const input = { ...base, tgks: Array.from({ length: count }, (_, i) => tgk(i + 1)) };
  let t = NOW;
  // A fresh timestamp per message, as the BM-SC makes them.
  cases.push({ impl: "wasm-simd", primitive: `build MBMS key message (${count} TGK)`, bytes: 0, fn: () => buildMbmsKeyMessage({ ...input, nowMs: ++t }, core) });
  const message = buildMbmsKeyMessage({ ...input, nowMs: NOW }, core);
  cases.push({ impl: "wasm-simd", primitive: `open MBMS key message (${count} TGK)`, bytes: message.length, fn: () => openMbmsKeyMessage(message, { kek: base.kek, nowMs: NOW }, core) });
}
const rows = runSuite(cases).map((r) => ({ impl: r.impl, op: r.primitive, nsPerOp: r.nsPerOp, perSecond: Math.round(1e9 / r.nsPerOp) }));
for (const r of rows) console.log(`${r.op.padEnd(40)} ${String(r.perSecond).padStart(8)} per second on one core`);
writeResults("mikey", rows);
