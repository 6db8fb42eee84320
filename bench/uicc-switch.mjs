// TEK generation latency through the UICC-proxy boundary: the ME sends AUTHENTICATE mode F2 (MKI) to the
// soft card in a worker_threads Worker and waits for TGK-ID ‖ master key ‖ salt — the cost a UICC-based
// receiver pays when the MKI changes (an "MKI switch"). One request at a time (sequential round trips),
// ≥ 2000 distinct MKIs; median and p99. Bar: ≤ 500 µs. For reference, the same derivation in-process
// (SoftCard.process without the worker) and ME-based (deriveSrtpMasterKeys).
// Run `npx tsc -p tsconfig.json` first. Writes bench/results/uicc-switch.json.
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import * as lib from "../dist/index.js";
import { writeResults } from "./harness.mjs";

const uicc = lib.UiccProxy ? lib : await import("../dist/mbms/uicc/index.js");
const { spawnCardWorker } = await import("../dist/mbms/uicc/card-worker.js");
const { buildMbmsKeyMessage, buildMki, deriveSrtpMasterKeys, loadCore } = lib;
const { SoftCard, AuthMode, encodeAuthenticate } = uicc;

const N = Number(process.env.UICC_MKIS ?? 5000);
const WARMUP = 500;
const BAR_US = 500;
const core = loadCore();
const NOW = Date.now();
const kek = randomBytes(16);
const tekRand = randomBytes(16);
const tgks = [1, 2, 3].map((id) => ({ tgkId: id, tgk: randomBytes(16), validFrom: NOW, expiresAt: NOW + 3_600_000 }));
const keyMessage = buildMbmsKeyMessage({
  kek, bmscId: "bmsc.operator.example", userId: "sip:user@operator.example", serviceId: "urn:mbms:tv:1",
  csbId: 0xc0ffee01, tekRand, profile: "AES_CM_128_HMAC_SHA1_80", tgks, nowMs: NOW,
}, core);
const mkis = Array.from({ length: N + WARMUP }, (_, i) => buildMki(tgks[i % 3].tgkId, randomBytes(8)));

const stats = (us) => {
  const s = [...us].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { samples: s.length, medianUs: +q(0.5).toFixed(1), p99Us: +q(0.99).toFixed(1), maxUs: +s[s.length - 1].toFixed(1) };
};
const timeUs = (t0) => Number(process.hrtime.bigint() - t0) / 1000;

// 1. Through the worker.
const proxy = spawnCardWorker(kek, { capacity: 8 });
await proxy.deliverKeyMessage(keyMessage);
const worker = [];
for (let i = 0; i < mkis.length; i++) {
  const t0 = process.hrtime.bigint();
  const tek = await proxy.generateTek(mkis[i]);
  const dt = timeUs(t0);
  if (!tek) throw new Error("the card refused an MKI");
  if (i >= WARMUP) worker.push(dt);
}
// Spot check against the ME-side derivation.
for (let i = 0; i < 20; i++) {
  const g = tgks[i % 3];
  const got = await proxy.generateTek(mkis[i]);
  const want = deriveSrtpMasterKeys({ tgk: g.tgk, tgkId: g.tgkId, csbId: 0xc0ffee01, csId: 1, tekRand, mki: mkis[i] }, { core });
  if (Buffer.compare(got.masterKey, want.masterKey) || Buffer.compare(got.masterSalt, want.masterSalt)) throw new Error("TEK mismatch");
}
await proxy.close();

// 2. The same card logic in-process (APDU codec + derivation, no message port).
const card = new SoftCard(kek, { core });
card.process(encodeAuthenticate(AuthMode.KeyMessage, keyMessage));
const inProcess = [];
for (let i = 0; i < mkis.length; i++) {
  const t0 = process.hrtime.bigint();
  card.process(encodeAuthenticate(AuthMode.TekFromMki, mkis[i]));
  if (i >= WARMUP) inProcess.push(timeUs(t0));
}
card.close();

// 3. ME-based: the derivation alone.
const me = [];
for (let i = 0; i < mkis.length; i++) {
  const g = tgks[i % 3];
  const t0 = process.hrtime.bigint();
  deriveSrtpMasterKeys({ tgk: g.tgk, tgkId: g.tgkId, csbId: 0xc0ffee01, csId: 1, tekRand, mki: mkis[i] }, { core });
  if (i >= WARMUP) me.push(timeUs(t0));
}

const rows = [
  { impl: "uicc-worker", op: "TEK from MKI (AUTHENTICATE F2 via worker_threads)", ...stats(worker), barUs: BAR_US },
  { impl: "uicc-in-process", op: "TEK from MKI (SoftCard.process, no worker)", ...stats(inProcess) },
  { impl: "me-based", op: "TEK from MKI (deriveSrtpMasterKeys)", ...stats(me) },
];
for (const r of rows) {
  console.log(`${r.impl.padEnd(16)} median ${String(r.medianUs).padStart(7)} µs  p99 ${String(r.p99Us).padStart(7)} µs  max ${String(r.maxUs).padStart(8)} µs  (n=${r.samples})`);
}
const pass = rows[0].medianUs <= BAR_US && rows[0].p99Us <= BAR_US;
console.log(`bar ≤ ${BAR_US} µs (median and p99 through the worker): ${pass ? "PASS" : "FAIL"}  [${cpus()[0]?.model ?? "cpu"}]`);
writeResults("uicc-switch", rows.map((r) => ({ ...r, ...(r.barUs ? { pass } : {}) })));
if (!pass) process.exitCode = 1;
