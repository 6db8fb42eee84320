// SRTP crypto off the I/O thread: packets/s and CPU per packet of protect and unprotect with 0 crypto
// workers (one in-thread SrtpContext, the batch API) and with SrtpCryptoPool over 1, 2, … workers
// (src/workers), 1,200-byte payloads (1,212-byte RTP), 64 packets a batch (CRYPTO_BENCH_BATCH), a 4-byte MKI, the pool kept
// full. No sockets: this is the crypto's ceiling and its cost, per core.
//
// CPU is the process's user + system time (all threads) over the measured packets; per-core packets/s =
// 1e6 / (CPU µs per packet), and the cores a line rate needs = rate × CPU µs per packet / 1e6 (1 M pkt/s
// of 1,200 bytes ≈ 10 GbE). The I/O thread's own share is its thread's CPU time (Linux
// /proc/thread-self/stat, 10 ms ticks; null elsewhere) over the same packets. Protect runs CRYPTO_BENCH_SECONDS (default 2) per trial over a ring of batches whose
// sequence numbers move on each round (like a source writing headers); unprotect decrypts a stream
// protected beforehand (CRYPTO_BENCH_PACKETS, default 131,072, two ROC cycles) with a fresh receiver each
// trial (the first 64 batches warm up). With workers, each case runs twice: batches copied into the
// pool's shared rings and back (run(batch)), and batches written in place (slotBatch(): protect writes
// only the headers there, as a source would; unprotect copies each received batch in, standing in for
// the socket's receive, and nothing back). Every case runs BENCH_TRIALS times (≥ 3), the cases interleaved
// in each trial; the figures are medians, each with the load averages seen during its trials (the
// machine may be shared). A progress line on stderr says where the run is.
//
// Usage: npm run bench:crypto-workers [-- --crypto-workers 0,1,2]   (needs npm run build)
// Writes bench/results/crypto-workers.json.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { SrtpContext } from "../dist/index.js";
import { SrtpCryptoPool } from "../dist/workers/crypto-pool.js";
import { machine, median, progress, TRIALS, writeResults } from "./harness.mjs";

const arg = process.argv.indexOf("--crypto-workers");
const WORKERS = (arg > 0 ? process.argv[arg + 1] : process.env.CRYPTO_WORKERS ?? "0,1,2").split(",").map(Number);
const SECONDS = Number(process.env.CRYPTO_BENCH_SECONDS ?? 2);
const STREAM = Number(process.env.CRYPTO_BENCH_PACKETS ?? 131_072);
const PAYLOAD = 1200;
const RTP = 12 + PAYLOAD;
const PER_BATCH = Number(process.env.CRYPTO_BENCH_BATCH ?? 64);
const STRIDE = 1232; // RTP + MKI (4) + tag (10), rounded up
const RING = 32; // protect: batches reused round after round
const WARM = 64; // unprotect: batches that warm up before the clock starts
const LINE_RATE = 1_000_000;
const keys = [{ key: new Uint8Array(16).fill(0x42), salt: new Uint8Array(14).fill(0x24), mki: Uint8Array.of(0, 0, 0, 1) }];

/** `n` batches of RTP (SSRC 0x5eed), sequence numbers from `seq`. */
function batches(n, seq = 0) {
  return Array.from({ length: n }, () => {
    const buffer = new Uint8Array(PER_BATCH * STRIDE);
    const offsets = new Int32Array(PER_BATCH), lengths = new Int32Array(PER_BATCH);
    for (let i = 0; i < PER_BATCH; i++, seq++) {
      const at = (offsets[i] = i * STRIDE);
      lengths[i] = RTP;
      buffer[at] = 0x80;
      buffer[at + 1] = 96;
      buffer[at + 2] = (seq >> 8) & 0xff;
      buffer[at + 3] = seq & 0xff;
      buffer.set([0, 0, 0x5e, 0xed], at + 8);
      buffer.fill(seq & 0xff, at + 12, at + RTP);
    }
    return { buffer, offsets, lengths };
  });
}

/** Protect: the ring's next round (sequence numbers moved on, lengths back to the plain RTP's). */
function nextRound(ring) {
  for (const b of ring) {
    for (let i = 0; i < PER_BATCH; i++) {
      const at = b.offsets[i];
      const seq = (((b.buffer[at + 2] << 8) | b.buffer[at + 3]) + RING * PER_BATCH) & 0xffff;
      b.buffer[at + 2] = seq >> 8;
      b.buffer[at + 3] = seq & 0xff;
      b.lengths[i] = RTP;
    }
  }
}

/** A copy of the protected stream for one unprotect trial (each trial's receiver starts fresh). */
let sealed;
function sealedStream() {
  if (!sealed) {
    const tx = new SrtpContext({ keys });
    sealed = batches(STREAM / PER_BATCH);
    for (const b of sealed) tx.protectBatch(b);
    tx.close();
  }
  return sealed.map((b) => ({ buffer: b.buffer.slice(), offsets: b.offsets, lengths: b.lengths.slice() }));
}

/** This thread's user + system CPU time in µs (Linux: utime and stime of /proc/thread-self/stat, 100 ticks/s), or NaN. */
function threadCpuUs() {
  try {
    const fields = readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 1e4;
  } catch {
    return NaN;
  }
}

/** Runs `feed`, timing it: wall, all threads' CPU, the I/O thread's own CPU. */
async function measure(feed) {
  const io0 = threadCpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const packets = await feed();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const ioUs = threadCpuUs() - io0;
  const cpuUs = cpu.user + cpu.system;
  return { packets, pps: packets / wallMs * 1e3, cpuUsPerPacket: cpuUs / packets, ioUsPerPacket: ioUs / packets, load1: loadavg()[0] };
}

/** Writes `b` into a pool's slot batch: protect, the headers only (a source writes its packets in either mode); unprotect, all of it (the socket's receive). */
function fillSlot(slot, b, protect) {
  if (protect) {
    for (let i = 0; i < PER_BATCH; i++) {
      const at = (slot.offsets[i] = b.offsets[i]);
      slot.lengths[i] = b.lengths[i];
      slot.buffer.set(b.buffer.subarray(at, at + 12), at);
    }
  } else {
    slot.buffer.set(b.buffer.subarray(0, b.offsets[PER_BATCH - 1] + b.lengths[PER_BATCH - 1]));
    slot.offsets.set(b.offsets);
    slot.lengths.set(b.lengths);
  }
  slot.count = PER_BATCH;
  return slot;
}

/** A submitter that keeps a pool full (or runs in-thread), counting the packets it got back; in place: through slotBatch(). */
function submitter(pool, ctx, protect, inPlace) {
  const inFlight = [];
  let done = 0;
  const count = (n) => (done += n);
  return {
    async submit(b) {
      if (!pool) {
        count(protect ? ctx.protectBatch(b) : ctx.unprotectBatch(b));
        return;
      }
      if (inPlace) {
        let slot;
        while (!(slot = pool.slotBatch())) await inFlight.shift();
        inFlight.push(pool.run(fillSlot(slot, b, protect)).then(count));
        return;
      }
      while (pool.pending >= pool.depth) await inFlight.shift();
      inFlight.push(pool.run(b).then(count));
    },
    async finish() {
      await Promise.all(inFlight.splice(0));
      return done;
    },
  };
}

async function trial({ direction, workers, inPlace }) {
  const protect = direction === "protect";
  const pool = workers > 0 ? await SrtpCryptoPool.start({ direction, workers, maxPackets: PER_BATCH, slotBytes: PER_BATCH * STRIDE, context: { keys } }) : undefined;
  const ctx = workers > 0 ? undefined : new SrtpContext({ keys });
  try {
    if (protect) {
      const ring = batches(RING);
      const warm = submitter(pool, ctx, true, inPlace);
      for (const b of ring) await warm.submit(b);
      await warm.finish();
      return await measure(async () => {
        const s = submitter(pool, ctx, true, inPlace);
        const until = performance.now() + SECONDS * 1e3;
        while (performance.now() < until) {
          nextRound(ring);
          for (const b of ring) await s.submit(b);
          await s.finish(); // the ring's batches are rewritten next round
        }
        return s.finish();
      });
    }
    const stream = sealedStream();
    const warm = submitter(pool, ctx, false, inPlace);
    for (const b of stream.slice(0, WARM)) await warm.submit(b);
    if ((await warm.finish()) !== WARM * PER_BATCH) throw new Error("warm-up packets refused");
    return await measure(async () => {
      const s = submitter(pool, ctx, false, inPlace);
      for (const b of stream.slice(WARM)) await s.submit(b);
      const n = await s.finish();
      if (n !== (stream.length - WARM) * PER_BATCH) throw new Error(`${direction} with ${workers} workers: ${n} packets accepted`);
      return n;
    });
  } finally {
    ctx?.close();
    await pool?.close();
  }
}

const cases = ["protect", "unprotect"].flatMap((direction) => WORKERS.flatMap((workers) =>
  [{ direction, workers, inPlace: false }, ...(workers > 0 ? [{ direction, workers, inPlace: true }] : [])]));
const label = (c) => `${c.direction.padEnd(9)} ${String(c.workers).padStart(2)} ${c.inPlace ? "in place" : "copied  "}`;
const runs = cases.map(() => []);
for (let t = 0; t < TRIALS; t++) {
  for (const [i, c] of cases.entries()) {
    progress(`trial ${t + 1}/${TRIALS}: ${label(c)}  (load ${loadavg()[0].toFixed(2)})`);
    const r = await trial(c);
    runs[i].push(r);
    progress.log(`  ${label(c)}  trial ${t + 1}: ${Math.round(r.pps).toLocaleString("en")} pkt/s, ${r.cpuUsPerPacket.toFixed(3)} µs CPU/pkt` +
      ` (I/O thread ${r.ioUsPerPacket.toFixed(2)}), load ${r.load1.toFixed(2)}`);
  }
}
progress.end();

const rows = cases.map((c, i) => {
  const rs = runs[i];
  const cpu = median(rs.map((r) => r.cpuUsPerPacket));
  return {
    ...c, trials: rs.length, payload: PAYLOAD, batch: PER_BATCH,
    pps: Math.round(median(rs.map((r) => r.pps))),
    cpuUsPerPacket: +cpu.toFixed(3),
    ioThreadUsPerPacket: Number.isNaN(rs[0].ioUsPerPacket) ? null : +median(rs.map((r) => r.ioUsPerPacket)).toFixed(2),
    perCorePps: Math.round(1e6 / cpu),
    coresFor1M: +(LINE_RATE * cpu / 1e6).toFixed(2),
    load1: rs.map((r) => +r.load1.toFixed(2)),
    trialsPps: rs.map((r) => Math.round(r.pps)),
  };
});
console.log(`\nmedians of ${TRIALS} trials (${machine().cpus} vCPUs${machine().note ? `, ${machine().note}` : ""}); cores for 1 M pkt/s = CPU µs/pkt (all threads):`);
console.log("direction  workers batches     pkt/s   CPU µs/pkt  I/O-thread µs/pkt  per-core pkt/s  cores@1M  load (1 min, per trial)");
for (const r of rows) {
  console.log(`${label(r)} ${r.pps.toLocaleString("en").padStart(10)} ${r.cpuUsPerPacket.toFixed(3).padStart(12)} ` +
    `${String(r.ioThreadUsPerPacket).padStart(18)} ${r.perCorePps.toLocaleString("en").padStart(15)} ${r.coresFor1M.toFixed(2).padStart(9)}  ${r.load1.join(" / ")}`);
}
writeResults("crypto-workers", rows.map((r) => ({ ...r, machine: machine() })));
