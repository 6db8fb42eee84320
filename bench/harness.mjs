// Shared benchmark plumbing: benchmark.js per case over ≥ 3 interleaved trials, medians and spreads, a progress
// line on stderr, a printed table, JSON under bench/results, SVG charts under docs/charts with a caption naming
// the machine and the date.
import Benchmark from "benchmark";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

const MAX_TIME = Number(process.env.BENCH_MAX_TIME ?? 1.5);
/** Trials per case (BENCH_TRIALS, at least 3): every figure is the median of the trials. */
export const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
if (!(Number.isInteger(TRIALS) && TRIALS >= 3)) throw new RangeError(`BENCH_TRIALS must be an integer ≥ 3 (got ${process.env.BENCH_TRIALS})`);

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One line on stderr, rewritten in place on a TTY (a line per update otherwise); progress.log(line) prints a
 * line on stdout under it, progress.end() clears it.
 */
let shown = "";
export function progress(text) {
  shown = text;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
  else process.stderr.write(`${text}\n`);
}
progress.log = (line) => {
  if (process.stderr.isTTY && shown) process.stderr.write("\r\x1b[K");
  console.log(line);
  if (process.stderr.isTTY && shown) process.stderr.write(shown);
};
progress.end = () => {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  shown = "";
};

/**
 * Runs each case ({impl, primitive, bytes, fn, perOp, note?}) TRIALS times, the cases interleaved within each
 * trial, and returns [{impl, primitive, bytes, nsPerOp, mbPerS, trialsNs}]: nsPerOp is the median over the
 * trials of each trial's median sample, trialsNs every trial's figure. `note` is printed only (e.g. "mki 12").
 */
export function runSuite(cases) {
  const perCase = cases.map(() => []);
  for (let t = 0; t < TRIALS; t++) {
    cases.forEach((c, i) => {
      progress(`trial ${t + 1}/${TRIALS}, case ${i + 1}/${cases.length}: ${c.impl} ${c.primitive} ${c.bytes} B`);
      const bench = new Benchmark(`${c.impl} ${c.primitive} ${c.bytes}`, c.fn, { maxTime: MAX_TIME });
      bench.run();
      if (bench.error) throw bench.error;
      perCase[i].push((median(bench.stats.sample) * 1e9) / (c.perOp ?? 1));
    });
  }
  progress.end();
  return cases.map((c, i) => {
    const nsPerOp = median(perCase[i]);
    const row = {
      impl: c.impl, primitive: c.primitive, bytes: c.bytes, nsPerOp: Math.round(nsPerOp), mbPerS: +(c.bytes / nsPerOp * 1e3).toFixed(1),
      trialsNs: perCase[i].map(Math.round),
    };
    const what = `${row.primitive} ${c.note ?? ""}`.padEnd(36);
    console.log(`${what} ${String(row.bytes).padStart(5)} B  ${row.impl.padEnd(34)} ${String(row.nsPerOp).padStart(8)} ns  ${String(row.mbPerS).padStart(8)} MB/s` +
      `  (trials ${Math.min(...row.trialsNs)}–${Math.max(...row.trialsNs)})`);
    return row;
  });
}

/** The machine, for results and chart captions; BENCH_MACHINE_NOTE says how it was shared (e.g. "shared with other jobs"). */
export function machine() {
  return { node: process.version, cpus: cpus().length, model: cpus()[0]?.model ?? "cpu", note: process.env.BENCH_MACHINE_NOTE ?? "" };
}

/** A chart caption: `text`, then the machine (as measured on, default this one) and the date of the run. */
export function caption(text, { m = machine(), date = new Date() } = {}) {
  const when = date.toISOString().slice(0, 16).replace("T", " ");
  return `${text}\n${m.cpus}-vCPU ${m.model}, Node ${m.node}, ${when} UTC${m.note ? `; ${m.note}` : ""}.`;
}

export function writeResults(name, results) {
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(`./results/${name}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  const m = machine();
  console.log(`\n${results.length} rows → bench/results/${name}.json (node ${m.node}, ${m.cpus}x ${m.model})`);
}

export function writeChart(name, svg) {
  mkdirSync(new URL("../docs/charts/", import.meta.url), { recursive: true });
  writeFileSync(new URL(`../docs/charts/${name}.svg`, import.meta.url), svg);
  console.log(`chart → docs/charts/${name}.svg`);
}
