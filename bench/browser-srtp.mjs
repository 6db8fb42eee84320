// Browser SRTP benchmark (issue 12): in headless Chromium, in a dedicated Worker, unprotect of
// 12 + 1200-byte RTP packets (AES_CM_128_HMAC_SHA1_80, no MKI) by the WASM SrtpContext (one packet per
// call, and unprotectBatch), by WebCrypto (awaiting each packet, and a batch of packets in flight) and by
// @noble/ciphers + @noble/hashes; the WASM single-packet case also on the main thread. Trials are
// interleaved (each trial runs every case once, in a rotating order), every output is checked; medians.
// Prints a table and writes bench/results/browser-srtp.json.
//   node bench/browser-srtp.mjs [--packets 8192] [--trials 7] [--batch 64] [--payload 1200]
import { parseArgs } from "node:util";
import { runBrowserBench } from "./browser/run.mjs";
import { median, writeResults } from "./harness.mjs";

const { values } = parseArgs({
  options: {
    packets: { type: "string", default: "8192" }, trials: { type: "string", default: "7" },
    batch: { type: "string", default: "64" }, payload: { type: "string", default: "1200" },
  },
});
const options = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number(v)]));
if (options.trials < 3) throw new Error("--trials: at least 3 (medians of fewer say nothing)");

const r = await runBrowserBench(options);
const row = (impl, thread, times) => {
  const us = times.map((t) => (t.ms * 1000) / options.packets);
  const usPerPacket = median(us);
  return {
    impl, thread, op: "unprotect", payloadBytes: options.payload, packets: options.packets, trials: us.length, flavor: r.flavor,
    usPerPacket: +usPerPacket.toFixed(3), mbitPerS: Math.round((options.payload * 8) / usPerPacket), trialUs: us.map((x) => +x.toFixed(3)),
  };
};
const rows = [
  ...Object.keys(r.trials[0]).map((name) => row(name, "worker", r.trials.map((t) => t[name]))),
  row("wasm", "worker, alternating with main", r.threads.map((t) => t.worker)),
  row("wasm", "main, alternating with worker", r.threads.map((t) => t.main)),
];
const find = (impl, thread = "worker") => rows.find((x) => x.impl === impl && x.thread === thread);

const wasmNames = ["wasm", `wasm batch ${options.batch}`];
const order = [...wasmNames, `webcrypto in flight ${options.batch}`, "webcrypto await", "noble"];
console.log(`\n${r.userAgent}\nWASM ${r.flavor}; ${options.packets} packets of 12 + ${options.payload} bytes per trial, ${r.trials.length} trials (+1 warm-up), every output checked\n`);
console.log("| case | thread | µs/packet (median) | trials min–max | payload Mbit/s |\n|---|---|---|---|---|");
for (const x of [...order.map((n) => find(n)), ...rows.slice(-2)]) {
  console.log(`| ${x.impl} | ${x.thread} | ${x.usPerPacket.toFixed(2)} | ${Math.min(...x.trialUs).toFixed(2)}–${Math.max(...x.trialUs).toFixed(2)} | ${x.mbitPerS} |`);
}
const webcrypto = [find(`webcrypto in flight ${options.batch}`), find("webcrypto await")].sort((a, b) => a.usPerPacket - b.usPerPacket)[0];
console.log(`\nRatios (times faster per packet; the WebCrypto baseline is its faster mode, ${webcrypto.impl}):`);
for (const name of wasmNames) {
  const w = find(name).usPerPacket;
  console.log(`  ${name.padEnd(14)} vs WebCrypto ${(webcrypto.usPerPacket / w).toFixed(2)}x (bar 3x)   vs noble ${(find("noble").usPerPacket / w).toFixed(2)}x (bar 2x)`);
}
const [inWorker, onMain] = rows.slice(-2).map((x) => x.usPerPacket);
console.log(`  wasm in the Worker vs on the main thread (alternating phase): ${(onMain / inWorker).toFixed(2)}x`);
writeResults("browser-srtp", rows);
