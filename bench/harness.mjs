// Shared benchmark plumbing: benchmark.js per case, medians, a printed table, JSON under bench/results.
import Benchmark from "benchmark";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

const MAX_TIME = Number(process.env.BENCH_MAX_TIME ?? 1.5);

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs each case ({impl, primitive, bytes, fn, perOp, note?}) and returns [{impl, primitive, bytes, nsPerOp,
 * mbPerS}]. `note` is printed only (e.g. "mki 12").
 */
export function runSuite(cases) {
  const results = [];
  for (const c of cases) {
    const bench = new Benchmark(`${c.impl} ${c.primitive} ${c.bytes}`, c.fn, { maxTime: MAX_TIME });
    bench.run();
    if (bench.error) throw bench.error;
    const nsPerOp = (median(bench.stats.sample) * 1e9) / (c.perOp ?? 1);
    const row = { impl: c.impl, primitive: c.primitive, bytes: c.bytes, nsPerOp: Math.round(nsPerOp), mbPerS: +(c.bytes / nsPerOp * 1e3).toFixed(1) };
    results.push(row);
    const what = `${row.primitive} ${c.note ?? ""}`.padEnd(36);
    console.log(`${what} ${String(row.bytes).padStart(5)} B  ${row.impl.padEnd(34)} ${String(row.nsPerOp).padStart(8)} ns  ${String(row.mbPerS).padStart(8)} MB/s`);
  }
  return results;
}

export function writeResults(name, results) {
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(`./results/${name}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log(`\n${results.length} rows → bench/results/${name}.json (node ${process.version}, ${cpus()[0]?.model ?? "cpu"})`);
}
