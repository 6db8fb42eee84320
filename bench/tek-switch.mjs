// TEK switch latency, ME-based (docs/architecture.md §1 "UE"): the time from receiving the first SRTP packet under a
// new MKI (TGK-ID ‖ fresh TEK_RAND2) to its decryption: MKI evaluation, TEK derivation (MIKEY PRF, Alt 1),
// key installation (RFC 3711 session keys), verification and decryption. Median over ≥ 1000 switches;
// bar ≤ 50 µs. Also: the same with an async TekSource (promise hop, no sync path) and the unchanged-MKI
// fast path for comparison.
//
//   npx tsc -p tsconfig.json && node bench/tek-switch.mjs      (SWITCHES=… to change the count)
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import * as lib from "../dist/index.js";
import { median, writeResults } from "./harness.mjs";

// The UE classes are exported from the package root once src/index.ts re-exports src/mbms/ue.
const ue = lib.MkiEvaluator ? lib : await import("../dist/mbms/ue/index.js");
const { buildMki, deriveSrtpMasterKeys, loadCore, SrtpContext } = lib;
const { MeTekSource, MkiEvaluator } = ue;

const SWITCHES = Number(process.env.SWITCHES ?? 2000);
const WARMUP = 200;
const PER_PERIOD = 4; // packets per TEK_RAND2 period (the first one is timed)
const BAR_US = 50;
const core = loadCore();
const NOW = Date.now();
const tgkId = 0x00c0ffee;
const tgk = new Uint8Array(randomBytes(16));
const tekRand = new Uint8Array(randomBytes(16));
const csbId = 0x12345678;
const delivery = {
  bmscId: "bmsc", userId: "ue", serviceId: "svc", csbId, csId: 1, ssrc: 0x1234, roc: 0, tekRand,
  profile: "AES_CM_128_HMAC_SHA1_80", tgks: [{ tgkId, tgk, validFrom: NOW - 3600e3, expiresAt: NOW + 3600e3 }], timestamp: 0n,
};

function rtp(seq) {
  const p = new Uint8Array(12 + 160 + 22);
  p[0] = 0x80; p[1] = 96; p[2] = (seq >> 8) & 0xff; p[3] = seq & 0xff;
  p[8] = 0; p[9] = 0; p[10] = 0x12; p[11] = 0x34;
  p.set(randomBytes(160), 12);
  return p;
}

const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** The sender's packets: for each period a fresh MKI, PER_PERIOD packets (precomputed, not timed). */
function stream(periods) {
  let tx, seq = 0;
  const out = [];
  for (let i = 0; i < periods; i++) {
    const mki = buildMki(tgkId, new Uint8Array(randomBytes(8)));
    const k = deriveSrtpMasterKeys({ tgk, tgkId, csbId, csId: 1, tekRand, mki }, { core });
    const init = { key: k.masterKey, salt: k.masterSalt, mki };
    if (!tx) tx = new SrtpContext({ keys: [init] }, core);
    else {
      tx.addKey(init);
      tx.setSendKey(mki);
    }
    for (let j = 0; j < PER_PERIOD; j++) {
      const p = rtp(seq++ & 0xffff);
      out.push({ first: j === 0, bytes: p.subarray(0, tx.protect(p, 172)) });
    }
    if (i > 2) tx.removeKey(out[out.length - 3 * PER_PERIOD - 1].bytes.subarray(-22, -10));
  }
  tx.close();
  return out;
}

async function run(kind) {
  let clock = 0; // the evaluator's clock: 2 s per TEK_RAND2 period, so the rate limit never bites here
  const me = new MeTekSource({ core, clock: { now: () => NOW } });
  me.accept(delivery);
  const source = kind === "sync" ? me : { deriveTek: (m) => me.deriveTek(m), knownTgkIds: () => me.knownTgkIds(), tgkExpiries: () => me.tgkExpiries() };
  let doneAt = 0, delivered = 0;
  const ev = new MkiEvaluator({
    tekSource: source, core, now: () => clock, rotationPeriodMs: 2000,
    onPacket: () => { doneAt = performance.now(); delivered++; },
  });
  const packets = stream(SWITCHES + WARMUP);
  const switchUs = [], fastUs = [];
  let period = 0;
  for (const p of packets) {
    if (p.first) { clock += 2000; period++; }
    const t0 = performance.now();
    const r = ev.receive(p.bytes);
    if (r === -100) await null; // queued: the TEK arrives on a microtask (async source)
    while (doneAt < t0) await null;
    const us = (doneAt - t0) * 1000;
    if (period > WARMUP) (p.first ? switchUs : fastUs).push(us);
  }
  const st = ev.stats;
  ev.close();
  if (delivered !== packets.length) throw new Error(`lost packets: ${packets.length - delivered}`);
  return { switchUs, fastUs, st };
}

const rows = [];
for (const kind of ["sync", "async"]) {
  const { switchUs, fastUs, st } = await run(kind);
  const m = median(switchUs);
  const row = {
    impl: `mbms-srtp MkiEvaluator + MeTekSource (${kind === "sync" ? "deriveTekSync" : "async deriveTek"})`,
    primitive: "tek-switch", bytes: 172, switches: switchUs.length,
    medianUs: +m.toFixed(2), p90Us: +pct(switchUs, 0.9).toFixed(2), p99Us: +pct(switchUs, 0.99).toFixed(2),
    fastPathMedianUs: +median(fastUs).toFixed(2), derivations: st.derivations, switchesCounted: st.switches,
    barUs: BAR_US, pass: m <= BAR_US,
  };
  rows.push(row);
  console.log(`${row.impl.padEnd(62)} switch median ${String(row.medianUs).padStart(7)} µs  p90 ${String(row.p90Us).padStart(7)}  p99 ${String(row.p99Us).padStart(7)}  | unchanged MKI ${row.fastPathMedianUs} µs  | bar ${BAR_US} µs ${row.pass ? "PASS" : "FAIL"}`);
}
writeResults("tek-switch", rows.map((r) => ({ ...r, node: process.version, cpu: cpus()[0]?.model ?? "cpu" })));
