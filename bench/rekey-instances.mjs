// Re-key load on several BM-SC instances (issue 11): `npm run bench:rekey -- --instances 1,2 [--ues 100000]`.
// For each N of --instances, N key-server processes (bench/rekey-instance-child.mjs: SessionManager + HTTP
// key server) on one PostgreSQL database of a throwaway cluster the bench starts (scripts/pg-test-cluster.mjs,
// unix socket, fsync off: the database's CPU is measured, not the disk's), and in the same run one process
// on an SQLite file for comparison. The UEs are simulated by load-generator threads
// (bench/rekey-load-worker.mjs, --generators, default 2) in this process, requests spread round robin over the
// instances; each key server's pg pool holds --pool-size connections (default 32; pg's default 10 bounds a
// server at 10 requests in flight, each several round trips to the database). Every UE keys itself once (not measured); then the time axis jumps to just before the
// retrieval windows open and every UE re-keys at a random time inside the window the server assigned it
// (+ jitter): the mitigated schedule. The windows span --window-ms of real time (default 20 s: 100,000 UEs
// are offered at 5,000/s on average). Measured per configuration: deliveries/s (over the span from the first
// intended request to the last delivery) and the peak second, delivery time (intended send → key message
// opened) p50/p99, failed deliveries (a 200 whose message opens with the UE's KEK and holds the next TGK;
// all UEs must get the same next TGK), requests/s per instance, and CPU (ms/s = % of one core) of each
// key server, of the database (postmaster and its backends, from /proc) and of the load generator.
// Writes bench/results/rekey-instances.json and prints a table. BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=D"
// passes Node options to the key-server processes (a CPU profile of each).
import { fork } from "node:child_process";
import { readFileSync, readdirSync, mkdtempSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { clusterUrl, startCluster, stopCluster } from "../scripts/pg-test-cluster.mjs";

const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
/** The next message of `type` from a child or worker; rejects when it reports an error, throws or exits first. */
const once = (emitter, type) => new Promise((resolve, reject) => {
  const off = () => {
    emitter.off("message", on);
    emitter.off("error", fail);
    emitter.off("exit", exit);
  };
  const fail = (e) => (off(), reject(e));
  const exit = (code) => fail(new Error(`a bench process exited (${code}) before "${type}"`));
  const on = (m) => {
    if (m.type === "error") fail(new Error(`key-server child: ${m.message}`));
    else if (m.type === type) off(), resolve(m);
  };
  emitter.on("message", on);
  emitter.on("error", fail);
  emitter.on("exit", exit);
});

/**
 * CPU time (ms) of the postmaster whose pid file is in `dataDir` and of its children, from /proc: the
 * live children's own, and the postmaster's own plus that of its children that exited (cutime, cstime).
 */
function postgresCpuMs(dataDir) {
  const master = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const tick = 1000 / 100; // USER_HZ: 100 on Linux
  let ms = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    if (Number(pid) === master) ms += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * tick;
    else if (Number(f[1]) === master) ms += (Number(f[11]) + Number(f[12])) * tick;
  }
  return ms;
}

/** pg_total_relation_size of the store's tables (after VACUUM ANALYZE, so the free space map is current). */
async function tableBytes(url) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("VACUUM ANALYZE");
    const r = await c.query("SELECT relname, pg_total_relation_size(oid)::int8 AS bytes FROM pg_class WHERE relname = ANY ($1) AND relkind = 'r'", [["users", "subscriptions", "nonces", "tgks", "services", "tek_rand2"]]);
    return Object.fromEntries(r.rows.map((x) => [x.relname, Number(x.bytes)]));
  } finally {
    await c.end();
  }
}

async function startInstance(dist, store, service, schedule, poolSize) {
  const child = fork(new URL("./rekey-instance-child.mjs", import.meta.url), [], { execArgv: process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(" ") : [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ready = once(child, "ready");
  child.send({ type: "init", dist, store, service, schedule, poolSize });
  return { child, port: (await ready).port };
}

const ask = (inst, m, reply) => {
  const r = once(inst.child, reply);
  inst.child.send(m);
  return r;
};

/** One configuration: `n` instances on `store`, `ues` simulated UEs. */
export async function runInstances({ dist, store, n, ues: count, windowMs, jitterMs, generators, maxSockets, poolSize, pgDataDir }) {
  const lead = 2 * windowMs;
  // A TGK lifetime of a day: however long the initial keying of every UE takes, the first TGK is still in
  // force after it, and the jump below goes forward to just before its re-key windows.
  const service = { serviceId: "tv", tgkLifetimeMs: 86_400_000, tekRand2PeriodMs: 60_000, nextTgkLeadMs: lead };
  const bmsc = await import(new URL("mbms/bmsc/index.js", dist).href);
  // The first instance creates the service and its first TGK (and runs the schedule); the users go in
  // through a store of this process; then the others start, on a store that has everything.
  const instances = [await startInstance(dist, store, service, true, poolSize)];
  const users = Array.from({ length: count }, (_, i) => ({ userId: `ue-${String(i).padStart(7, "0")}`, kek: crypto.getRandomValues(new Uint8Array(16)) }));
  const admin = store.kind === "postgres" ? await bmsc.openPostgresKeyStore(store.url) : new bmsc.SqliteKeyStore(store.path);
  for (let i = 0; i < count; i += 10_000) await admin.addUsers(users.slice(i, i + 10_000).map((u) => ({ userId: u.userId, kek: u.kek, services: ["tv"] })));
  await admin.close();
  for (let i = 1; i < n; i++) instances.push(await startInstance(dist, store, service, false, poolSize));
  const ports = instances.map((x) => x.port);
  const share = Math.ceil(count / generators);
  const workers = [];
  for (let g = 0; g * share < count; g++) {
    const part = users.slice(g * share, (g + 1) * share).map((u) => ({ userId: u.userId, kekHex: Buffer.from(u.kek).toString("hex") }));
    workers.push(new Worker(new URL("./rekey-load-worker.mjs", import.meta.url), { workerData: { dist, ports, ues: part, first: g * share, maxSockets } }));
  }
  for (const u of users) u.kek.fill(0);
  const all = (m, type) => Promise.all(workers.map((w) => {
    const r = once(w, type);
    w.postMessage(m);
    return r;
  }));
  try {
    const t0 = performance.now();
    const initial = await all({ type: "initial", offset: 0 }, "initial");
    const initialMs = performance.now() - t0;
    const bad = initial.find((r) => r.failed > 0);
    if (bad) throw new Error(`initial keying failed for ${bad.failed} UEs: ${bad.why}`);
    const expiring = initial[0].tgk;
    // Jump to just after the next TGK is due (the scheduling instance makes it in its step), before the windows.
    const offset = expiring.expiresAt - lead + 50 - Date.now();
    if (offset <= 0 || initial.some((r) => r.tgk.tgkId !== expiring.tgkId)) throw new Error("the UEs hold different TGKs after the initial keying: the first one expired during it");
    for (const x of instances) await ask(x, { type: "jump", offset }, "jumped");
    for (const x of instances) await ask(x, { type: "mark" }, "marked");
    const pgCpu0 = pgDataDir ? postgresCpuMs(pgDataDir) : 0;
    const genCpu0 = process.cpuUsage();
    const base = performance.now();
    const done = await all({ type: "go", offset, expiring, jitterMs }, "done");
    const spanMs = performance.now() - base;
    const genCpu = process.cpuUsage(genCpu0);
    const pgCpuMs = pgDataDir ? postgresCpuMs(pgDataDir) - pgCpu0 : undefined;
    const databaseBytes = store.kind === "postgres" ? await tableBytes(store.url) : undefined;
    const reports = [];
    for (const x of instances) reports.push(await ask(x, { type: "report" }, "report"));
    const delivery = Float64Array.from(done.flatMap((d) => [...d.delivery])).sort();
    const nextTgkIds = [...new Set(done.flatMap((d) => d.nextTgkIds))];
    const failed = done.reduce((a, d) => a + d.failed, 0) + (nextTgkIds.length > 1 ? delivery.length : 0);
    const peakSecond = (r) => Math.max(0, ...Object.values(r.perSecond));
    const combined = {};
    for (const r of reports) for (const [s, c] of Object.entries(r.perSecond)) combined[s] = (combined[s] ?? 0) + c;
    const perSec = (ms) => Math.round((ms / spanMs) * 1000);
    return {
      store: store.kind, instances: n, ues: count, windowMs, jitterMs, generators, maxSockets, poolSize: store.kind === "postgres" ? poolSize : undefined,
      offeredPerSec: Math.round((count / (windowMs + jitterMs)) * 1000),
      initialKeyingMs: Math.round(initialMs),
      delivered: delivery.length, failed,
      failures: [...new Set(done.flatMap((d) => d.failures))], retries: done.reduce((a, d) => a + d.retries, 0),
      nextTgkIds: nextTgkIds.length,
      spanMs: Math.round(spanMs),
      deliveredPerSec: perSec(delivery.length),
      peakSecondPerSec: Math.max(0, ...Object.values(combined)),
      deliveryP50Ms: +percentile(delivery, 50).toFixed(1),
      deliveryP99Ms: +percentile(delivery, 99).toFixed(1),
      deliveryMaxMs: +(delivery[delivery.length - 1] ?? NaN).toFixed(1),
      perInstance: reports.map((r) => ({ requests: r.requests, statuses: r.statuses, perSec: perSec(r.requests), peakSecond: peakSecond(r), cpuPct: Math.round((r.cpuMs / spanMs) * 100) })),
      databaseCpuPct: pgCpuMs === undefined ? undefined : Math.round((pgCpuMs / spanMs) * 100),
      // Per table (heap, indexes, TOAST), after the run: every UE has its user, KEK, subscription and the
      // nonces of its two requests (live for the clock-skew window).
      databaseBytes, databaseBytesPerUe: databaseBytes && Math.round(Object.values(databaseBytes).reduce((a, b) => a + b, 0) / count),
      loadGeneratorCpuPct: Math.round(((genCpu.user + genCpu.system) / 1000 / spanMs) * 100),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    for (const x of instances) {
      const gone = new Promise((r) => x.child.once("exit", r));
      x.child.send({ type: "stop" });
      await gone;
    }
  }
}

export function formatInstances(rows, machine) {
  const pad = (v, w) => String(v).padStart(w);
  return [
    `re-key load, mitigated schedule: ${rows[0].ues} UEs, window ${rows[0].windowMs} ms + jitter ≤ ${rows[0].jitterMs} ms (offered ${rows[0].offeredPerSec}/s mean); ${machine}`,
    `store     inst delivered failed deliv/s peak-1s/s  p50 ms  p99 ms   per instance req/s (CPU %)     db CPU %  loadgen CPU %`,
    ...rows.map((r) => `${r.store.padEnd(9)} ${pad(r.instances, 4)} ${pad(r.delivered, 9)} ${pad(r.failed, 6)} ${pad(r.deliveredPerSec, 7)} ${pad(r.peakSecondPerSec, 9)} ${pad(r.deliveryP50Ms, 7)} ${pad(r.deliveryP99Ms, 7)}   ${r.perInstance.map((p) => `${p.perSec} (${p.cpuPct})`).join(", ").padEnd(30)} ${pad(r.databaseCpuPct ?? "-", 8)} ${pad(r.loadGeneratorCpuPct, 14)}`),
    `CPU %: of one core over the measured span (100 = one core busy); the machine has ${cpus().length} cores.`,
    ...rows.filter((r) => r.databaseBytesPerUe).map((r) => `PostgreSQL, ${r.instances} instance(s): ${r.databaseBytesPerUe} bytes per UE (${Object.entries(r.databaseBytes).map(([t, b]) => `${t} ${(b / 2 ** 20).toFixed(1)} MiB`).join(", ")})`),
  ].join("\n");
}

export async function main(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const dist = process.env.MBMS_DIST ? new URL(`file://${process.env.MBMS_DIST.replace(/\/$/, "")}/`).href : new URL("../dist/", import.meta.url).href;
  const counts = arg("--instances", "1,2").split(",").map(Number);
  if (!counts.every((c) => Number.isInteger(c) && c >= 1 && c <= 8)) throw new Error("--instances: a list of 1..8, e.g. 1,2");
  const opts = {
    dist, ues: Number(arg("--ues", "100000")), windowMs: Number(arg("--window-ms", "20000")), jitterMs: Number(arg("--jitter-ms", "500")),
    generators: Number(arg("--generators", "2")), maxSockets: Number(arg("--max-sockets", "64")), poolSize: Number(arg("--pool-size", "32")),
  };
  const cluster = startCluster();
  const dir = mkdtempSync(join(tmpdir(), "rekey-instances-"));
  const root = new pg.Client({ connectionString: cluster.url });
  const rows = [];
  try {
    await root.connect();
    const load0 = loadavg()[0];
    rows.push(await runInstances({ ...opts, n: 1, store: { kind: "sqlite", path: join(dir, "keys.sqlite") } }));
    for (const n of counts) {
      const db = `rekey_${n}`;
      await root.query(`CREATE DATABASE ${db}`);
      rows.push(await runInstances({ ...opts, n, store: { kind: "postgres", url: clusterUrl(cluster.dir, db) }, pgDataDir: join(cluster.dir, "data") }));
    }
    const machine = `${cpus().length} × ${cpus()[0]?.model}, shared with other work (load average ${load0.toFixed(1)} at start)`;
    console.log(formatInstances(rows, machine));
    mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
    writeFileSync(new URL("./results/rekey-instances.json", import.meta.url), JSON.stringify({ node: process.version, machine, rows }, null, 2) + "\n");
    console.log("→ bench/results/rekey-instances.json");
  } finally {
    await root.end().catch(() => undefined);
    stopCluster(cluster.dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
