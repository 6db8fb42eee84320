// One BM-SC key-server process for bench/rekey-instances.mjs (forked, IPC): a SessionManager and the HTTP
// key server on 127.0.0.1 over the PostgreSQL store (or an SQLite file), the service of the re-key bench,
// on a clock the parent shifts (the bench's compressed time axis: every process gets the same offset).
// Only the instance started with `schedule: true` runs the session manager's schedule (TGK generation);
// the others only serve from the store — the rotation lease of issue 11 is not this bench's subject.
//   parent → child: {type:"init", dist, store:{kind:"postgres",url}|{kind:"sqlite",path}, service, schedule, poolSize}
//                   {type:"jump", offset}  (then a schedule step on the scheduling instance)
//                   {type:"mark"} / {type:"report"}  start / end of the measured phase
//                   {type:"stop"}
//   child → parent: {type:"ready", port} {type:"jumped"} {type:"marked"} {type:"report", …} {type:"error", message}
let offset = 0;
const clock = {
  now: () => Date.now() + offset,
  setTimer: (fn, ms) => { const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1)); t.unref(); return t; },
  clearTimer: (t) => clearTimeout(t),
};
let mgr, ks, store;
let phase = { statuses: {}, perSecond: {}, requests: 0, cpu: process.cpuUsage(), at: Date.now() };

const send = (m) => process.send(m);

async function init(m) {
  const bmsc = await import(new URL("mbms/bmsc/index.js", m.dist).href);
  store = m.store.kind === "postgres" ? await bmsc.openPostgresKeyStore({ connectionString: m.store.url, max: m.poolSize }) : new bmsc.SqliteKeyStore(m.store.path, { synchronous: "normal" });
  mgr = await bmsc.SessionManager.create({ store, clock, logger: bmsc.silentLogger, services: [m.service] });
  if (m.schedule) await mgr.start();
  ks = bmsc.createKeyServer({
    manager: mgr, logger: bmsc.silentLogger,
    onRequest: (i) => {
      phase.requests++;
      phase.statuses[i.status] = (phase.statuses[i.status] ?? 0) + 1;
      const s = Math.floor(Date.now() / 1000);
      phase.perSecond[s] = (phase.perSecond[s] ?? 0) + 1;
    },
  });
  const { port } = await ks.listen(0, "127.0.0.1");
  send({ type: "ready", port });
}

process.on("message", (m) => {
  const run = async () => {
    if (m.type === "init") await init(m);
    else if (m.type === "jump") {
      offset = m.offset;
      if (mgr.running) await mgr.tick();
      send({ type: "jumped" });
    } else if (m.type === "mark") {
      phase = { statuses: {}, perSecond: {}, requests: 0, cpu: process.cpuUsage(), at: Date.now() };
      send({ type: "marked" });
    } else if (m.type === "report") {
      const cpu = process.cpuUsage(phase.cpu);
      send({ type: "report", requests: phase.requests, statuses: phase.statuses, perSecond: phase.perSecond, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Date.now() - phase.at });
    } else if (m.type === "stop") {
      await mgr?.stop();
      await ks?.close();
      await store?.close();
      process.disconnect();
    }
  };
  run().catch((e) => send({ type: "error", message: `${e?.code ?? ""} ${e?.message ?? e}` }));
});
