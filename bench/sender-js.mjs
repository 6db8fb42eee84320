// The sender's JavaScript around each packet, alone: the CLI Sender's tick (src/cli/sender.ts) with the
// synthetic source, pacing and counters, sending --plain to a stand-in socket that takes every batch. No
// sockets, no crypto: what is left is what the line-rate bench's "pipeline" share pays per packet on top.
// Each tick writes and "sends" 1,000 packets of 1,212 bytes (the source's start put far in the past, so
// the pacing always finds 1,000 due); ns per packet = benchmark.js's median tick / 1,000.
//
// SENDER_JS_BASELINE=<a dist/ directory> (e.g. a build of the previous commit) runs that build's Sender in
// the same process, trials interleaved with this one's, and prints the ratio. SENDER_JS_TRIALS (default 3):
// the median of the trials is reported. Writes bench/results/sender-js.json.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { median, runSuite, writeResults } from "./harness.mjs";

const TRIALS = Number(process.env.SENDER_JS_TRIALS ?? 3);
const PAYLOAD = 1200;
const PER_TICK = 1000;

async function load(dist) {
  const at = (p) => (dist ? pathToFileURL(resolve(dist, p)).href : new URL(`../dist/${p}`, import.meta.url).href);
  const { Sender } = await import(at("cli/sender.js"));
  const { SyntheticSource } = await import(at("cli/synthetic-source.js"));
  return { Sender, SyntheticSource };
}

/** A tick function of `impl`'s Sender over a socket stand-in that takes every datagram. */
function ticker({ Sender, SyntheticSource }) {
  const sock = { addDestination: () => 0, send: (b) => b.count ?? b.offsets.length };
  const source = new SyntheticSource({ bitrate: 100_000 * 8 * (12 + PAYLOAD), payloadSize: PAYLOAD, ssrc: 0x11223344 });
  const sender = new Sender(sock, source, [{ host: "127.0.0.1", port: 5004 }], true);
  source.start(Date.now() - 1e9);
  return { fn: () => sender["tick"](), check: () => sender.packets };
}

const impls = [["this build", await load(undefined)]];
if (process.env.SENDER_JS_BASELINE) impls.unshift([`baseline ${process.env.SENDER_JS_BASELINE}`, await load(process.env.SENDER_JS_BASELINE)]);

const rows = [];
for (let t = 0; t < TRIALS; t++) {
  for (const [impl, mod] of impls) {
    const { fn, check } = ticker(mod);
    const [r] = runSuite([{ impl, primitive: `sender tick, trial ${t + 1}`, bytes: 12 + PAYLOAD, fn, perOp: PER_TICK }]);
    if (!(check() > 0)) throw new Error(`${impl}: the sender sent nothing`);
    rows.push({ impl, trial: t + 1, nsPerPacket: r.nsPerOp });
  }
}
const summary = impls.map(([impl]) => ({ impl, trials: TRIALS, nsPerPacket: median(rows.filter((r) => r.impl === impl).map((r) => r.nsPerPacket)) }));
console.log("\nmedian of", TRIALS, "trials, ns per packet (source + pacing + counters, no socket, no crypto):");
for (const s of summary) console.log(`  ${s.impl.padEnd(40)} ${String(s.nsPerPacket).padStart(6)} ns`);
if (summary.length === 2) console.log(`  this build / baseline: ${(summary[1].nsPerPacket / summary[0].nsPerPacket).toFixed(3)}`);
writeResults("sender-js", [...rows, ...summary.map((s) => ({ ...s, trial: "median" }))]);
