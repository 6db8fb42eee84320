// A BM-SC instance in its own process for test/bmsc-multi-instance.test.ts: a SessionManager with a
// schedule lease on a PostgreSQL store shared with the other instances, and (mode "send") an MbmsSender with
// a registered random SSRC and a random first sequence number, sending a packet every `intervalMs` by UDP
// to the parent's 127.0.0.1 port. Runs the compiled package (dist/, `npm run build:ts` first).
//
// argv[2] is the JSON config. IPC (test instrumentation): child → parent {type: "ready", ssrc, owner}
// | {type: "tek", mki, key, salt, startsAt} (the test's oracle to decrypt; never printed) | {type: "owns",
// owns, at} when this instance takes or loses the schedule | {type: "tgks", ids} | {type: "stats", packets, withheld} | {type: "error", code, message}.
import dgram from "node:dgram";

const dist = new URL("../../dist/", import.meta.url);
const { openPostgresKeyStore, SessionManager, MbmsSender, SsrcRegistration, randomSequence, silentLogger, systemClock } =
  await import(new URL("mbms/bmsc/index.js", dist).href);

const cfg = JSON.parse(process.argv[2]);
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const send = (m) => process.connected && process.send(m);
const fail = (e) => {
  send({ type: "error", code: e?.code ?? "unknown", message: e instanceof Error ? e.message : String(e) });
  setTimeout(() => process.exit(1), 50);
};

try {
  const store = await openPostgresKeyStore(cfg.url, { schema: cfg.schema });
  const manager = new SessionManager({ store, logger: silentLogger, lease: { ttlMs: cfg.leaseTtlMs }, retryMs: 100 });
  manager.onTek((e) => send({ type: "tek", mki: hex(e.mki), key: hex(e.masterKey), salt: hex(e.masterSalt), startsAt: e.startsAt }));
  await manager.addService({ serviceId: "tv", tekRand2PeriodMs: cfg.periodMs, tgkLifetimeMs: cfg.tgkLifetimeMs, nextTgkLeadMs: cfg.nextTgkLeadMs });
  await manager.start();
  let owns = false;
  const watch = () => {
    if (manager.ownsSchedule("tv") !== owns) send({ type: "owns", owns: (owns = !owns), at: Date.now() });
  };
  setInterval(watch, 10);
  watch();
  if (cfg.mode === "startup") {
    send({ type: "tgks", ids: (await store.listTgks("tv")).map((t) => t.tgkId) });
  } else {
    // An SSRC is held past the last TEK its sender may have used: a period plus a takeover (ssrc-registry.ts).
    const reg = await SsrcRegistration.register(store, systemClock, "tv", `sender-${process.pid}`, cfg.periodMs + 2 * cfg.leaseTtlMs);
    const sender = new MbmsSender({ manager, serviceId: "tv", ssrc: reg });
    for (let i = 0; ; i++) {
      try {
        await sender.start();
        break;
      } catch (e) {
        if (e?.code !== "ERR_NOT_FOUND" || i > 100) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const sock = dgram.createSocket("udp4");
    let seq = randomSequence();
    send({ type: "ready", ssrc: reg.ssrc, firstSeq: seq });
    const buf = Buffer.alloc(12 + 32 + 64);
    setInterval(() => {
      const { packets, withheld } = sender.stats;
      send({ type: "stats", packets, withheld });
    }, 200);
    setInterval(() => {
      buf.fill(0);
      buf[0] = 0x80;
      buf[1] = 96;
      buf.writeUInt16BE(seq & 0xffff, 2);
      buf.writeUInt32BE(reg.ssrc >>> 0, 8);
      buf.writeUInt32BE(seq >>> 0, 12); // the payload repeats the unwrapped count: the receiver checks it
      const n = sender.protect(buf, 12 + 32);
      if (n < 0) return; // withheld: counted by the parent as a gap
      seq++;
      sock.send(buf, 0, n, cfg.port, "127.0.0.1");
    }, cfg.intervalMs);
  }
} catch (e) {
  fail(e);
}
