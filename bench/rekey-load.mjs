// Re-key implosion, measured: ≥ 10,000 simulated UEs in this process re-key around a TGK expiry against
// the real BM-SC key server (Node http on 127.0.0.1, keep-alive Agent, maxSockets 64), in two scenarios:
//   (a) unmitigated: every UE asks at the expiry instant, all at once;
//   (b) mitigated:   each UE asks at a random time inside the retrieval window the server assigned it
//                    (x-mbms-rekey-from / x-mbms-rekey-window) plus its own jitter.
// The time axis is compressed: the retrieval window (nextTgkLeadMs / 2) is `windowMs` of real time
// (default 10 s), TGK lifetime = 4 × lead. Before each scenario every UE does its initial keying (not
// measured) to learn its window. Measured: the server's request arrival rate per 100 ms bucket (peak),
// the offered rate (when UEs meant to send), delivery time (intended send → key message opened) p50/p99,
// and failed deliveries (a delivery = a 200 whose MIKEY message opens with the UE's KEK and holds the TGK
// that follows the expiring one).
//
//   npx tsc -p tsconfig.json && node bench/rekey-load.mjs [--ues 10000] [--window-ms 10000] [--jitter-ms 500]
//       [--max-sockets 64] [--sqlite]        (MBMS_DIST=<dir> to load another tsc output directory)
//   node bench/rekey-load.mjs --instances 1,2 [--ues 100000] [--window-ms 20000] [--generators 2]
//       key-server processes on PostgreSQL: bench/rekey-instances.mjs (its own options and results file)
//
// Writes bench/results/rekey-load.json. test/rekey-load.test.ts runs the same code (runRekeyLoad) on the
// TypeScript sources with a bound on the time it takes.
import http from "node:http";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { keyRequester } from "./key-request.mjs";

const BUCKET_MS = 100;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function buckets(times) {
  const m = new Map();
  for (const t of times) {
    const b = Math.floor(t / BUCKET_MS);
    m.set(b, (m.get(b) ?? 0) + 1);
  }
  return m;
}
const peakOf = (times) => Math.max(0, ...buckets(times).values());

/**
 * Runs one scenario. `lib` holds the project's exports (dist/ or src/), so that the bench and the test
 * share this code: SessionManager, MemoryKeyStore, SqliteKeyStore, createKeyServer, signRequest,
 * openMbmsKeyMessage, KEYS_PATH, HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, silentLogger.
 */
export async function runScenario(lib, opts) {
  const { mode, ues: n, windowMs, jitterMs = 500, maxSockets = 64, storePath } = opts;
  const lead = 2 * windowMs;
  const lifetime = 4 * lead;
  let offset = 0;
  const clock = {
    now: () => Date.now() + offset,
    setTimer: (fn, ms) => { const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1)); t.unref(); return t; },
    clearTimer: (t) => clearTimeout(t),
  };
  const store = storePath ? new lib.SqliteKeyStore(storePath, { synchronous: "normal" }) : new lib.MemoryKeyStore();
  const mgr = await lib.SessionManager.create({
    store, clock, logger: lib.silentLogger,
    services: [{ serviceId: "tv", tgkLifetimeMs: lifetime, tekRand2PeriodMs: 60_000, nextTgkLeadMs: lead }],
  });
  const users = Array.from({ length: n }, (_, i) => ({
    userId: `ue-${String(i).padStart(6, "0")}`, kek: crypto.getRandomValues(new Uint8Array(16)),
  }));
  store.addUsers(users.map((u) => ({ userId: u.userId, kek: u.kek, services: ["tv"] })));
  await mgr.start();
  const arrivals = []; // server side, real ms (performance.now) of every request that reached the handler
  let serverStatuses = new Map();
  const ks = lib.createKeyServer({
    manager: mgr, logger: lib.silentLogger,
    onRequest: (i) => {
      arrivals.push(performance.now());
      serverStatuses.set(i.status, (serverStatuses.get(i.status) ?? 0) + 1);
    },
  });
  const { port } = await ks.listen(0, "127.0.0.1");
  const agent = new http.Agent({ keepAlive: true, maxSockets });

  const { fetchKeys, counters } = keyRequester(lib, () => clock.now(), () => ({ port, agent }));

  try {
    // Initial keying (not measured): every UE learns TGK 1 and its retrieval window.
    const t0 = performance.now();
    const initial = await Promise.all(users.map(fetchKeys));
    const initialMs = performance.now() - t0;
    const initialFailed = initial.filter((r) => !r.ok).length;
    if (initialFailed > 0) throw new Error(`initial keying failed for ${initialFailed} UEs: ${initial.find((r) => !r.ok).why}`);
    const tgk1 = initial[0].tgks[0];
    const E = tgk1.expiresAt;

    // Jump the compressed time axis: (a) to just before the expiry, (b) to just before the window opens.
    const startGap = 200;
    offset += (mode === "unmitigated" ? E - startGap : E - lead - startGap) - clock.now();
    await mgr.tick();
    arrivals.length = 0;
    serverStatuses = new Map();
    counters.retries = 0;
    const base = performance.now();
    const simAt = (realMs) => clock.now() + (realMs - performance.now());

    const plan = users.map((u, i) => {
      let atSim;
      if (mode === "unmitigated") atSim = E;
      else atSim = initial[i].from + Math.random() * initial[i].window + Math.random() * jitterMs;
      const delay = Math.max(0, atSim - simAt(performance.now()));
      return { u, delay, planned: performance.now() + delay };
    });
    const results = await Promise.all(plan.map(({ u, delay, planned }) => new Promise((resolve) => {
      setTimeout(async () => {
        const intended = planned; // delivery time includes any event-loop lag before the UE could send
        const r = await fetchKeys(u);
        const done = performance.now();
        const ok = r.ok && r.tgks.some((t) => t.tgkId !== tgk1.tgkId && t.validFrom === E);
        resolve({ ok, why: r.ok ? (ok ? undefined : "next TGK missing") : r.why, intended, done });
      }, delay);
    })));
    const spanMs = performance.now() - base;
    const delivery = results.filter((r) => r.ok).map((r) => r.done - r.intended).sort((a, b) => a - b);
    const failed = results.filter((r) => !r.ok);
    return {
      mode, ues: n, windowMs, jitterMs: mode === "mitigated" ? jitterMs : 0, maxSockets, store: storePath ? "sqlite" : "memory",
      initialKeyingMs: Math.round(initialMs),
      requests: arrivals.length,
      delivered: delivery.length,
      failed: failed.length,
      failures: [...new Set(failed.map((f) => f.why))].slice(0, 5),
      retries: counters.retries,
      serverStatuses: Object.fromEntries(serverStatuses),
      peakPer100ms: peakOf(arrivals),
      offeredPeakPer100ms: peakOf(results.map((r) => r.intended)),
      spanMs: Math.round(spanMs),
      meanPerSec: Math.round((arrivals.length / spanMs) * 1000),
      deliveryP50Ms: +percentile(delivery, 50).toFixed(1),
      deliveryP99Ms: +percentile(delivery, 99).toFixed(1),
      deliveryMaxMs: +(delivery[delivery.length - 1] ?? NaN).toFixed(1),
    };
  } finally {
    agent.destroy();
    await mgr.stop();
    await ks.close();
    store.close();
  }
}

/** Both scenarios, one after the other, on fresh stores and servers. */
export async function runRekeyLoad(lib, opts) {
  const unmitigated = await runScenario(lib, { ...opts, mode: "unmitigated", storePath: opts.storePath?.("a") });
  const mitigated = await runScenario(lib, { ...opts, mode: "mitigated", storePath: opts.storePath?.("b") });
  return { unmitigated, mitigated, ratio: +(unmitigated.peakPer100ms / Math.max(1, mitigated.peakPer100ms)).toFixed(1) };
}

export function formatRekeyLoad({ unmitigated: a, mitigated: b, ratio }) {
  const row = (r) => `${r.mode.padEnd(12)} ${String(r.requests).padStart(7)} ${String(r.delivered).padStart(9)} ${String(r.failed).padStart(6)} ${String(r.peakPer100ms).padStart(10)} ${String(r.offeredPeakPer100ms).padStart(12)} ${String(r.meanPerSec).padStart(8)} ${String(r.deliveryP50Ms).padStart(8)} ${String(r.deliveryP99Ms).padStart(8)} ${String(r.spanMs).padStart(8)}`;
  return [
    `re-key load: ${a.ues} UEs, window ${b.windowMs} ms (+ jitter ≤ ${b.jitterMs} ms), maxSockets ${a.maxSockets}, store ${a.store}`,
    `scenario     requests delivered failed peak/100ms offered/100ms  mean/s  p50 ms   p99 ms  span ms`,
    row(a), row(b),
    `peak ratio unmitigated/mitigated: ${ratio}`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes("--instances")) {
  // Several key-server processes on PostgreSQL (and SQLite for comparison): bench/rekey-instances.mjs.
  await (await import("./rekey-instances.mjs")).main(process.argv.slice(2));
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir, cpus } = await import("node:os");
  const { join } = await import("node:path");
  // MBMS_DIST: another build directory (e.g. `npx tsc -p tsconfig.json --outDir /tmp/d`); default ../dist.
  const distUrl = process.env.MBMS_DIST ? pathToFileURL(`${process.env.MBMS_DIST.replace(/\/$/, "")}/`).href : new URL("../dist/", import.meta.url).href;
  const dist = await import(new URL("index.js", distUrl).href);
  const bmsc = await import(new URL("mbms/bmsc/index.js", distUrl).href);
  const proto = await import(new URL("mbms/http-protocol.js", distUrl).href);
  const lib = { ...dist, ...bmsc, ...proto };
  const sqlite = process.argv.includes("--sqlite");
  const dir = sqlite ? mkdtempSync(join(tmpdir(), "rekey-load-")) : undefined;
  try {
    const out = await runRekeyLoad(lib, {
      ues: Number(arg("--ues", "10000")), windowMs: Number(arg("--window-ms", "10000")), jitterMs: Number(arg("--jitter-ms", "500")),
      maxSockets: Number(arg("--max-sockets", "64")), ...(dir ? { storePath: (s) => join(dir, `${s}.db`) } : {}),
    });
    console.log(formatRekeyLoad(out));
    const { writeFileSync, mkdirSync } = await import("node:fs");
    mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
    const name = sqlite ? "rekey-load-sqlite" : "rekey-load";
    writeFileSync(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, ...out }, null, 2) + "\n");
    console.log(`→ bench/results/${name}.json`);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
