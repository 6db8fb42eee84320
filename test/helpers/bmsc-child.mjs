// A BM-SC in its own process, for test/mbms-flow.test.ts (driven by test/helpers/bmsc-process.ts).
// Runs the compiled package (dist/, built by `npx tsc -p tsconfig.json` before the tests): an SqliteKeyStore,
// a SessionManager for one service, the HTTP key server on 127.0.0.1, and the SRTP sender of the stream.
//
// The sender adds every TEK the SessionManager announces (onTek; the arrays are copied because the manager
// zeroes them after the listeners return) and switches its send key when the TEK comes into force. Packet n
// is due at t0 + n·intervalMs (t0 from the parent), so a restarted sender never reuses a packet index under
// a TEK the previous incarnation used (no two-time pad), and packets due while the BM-SC was down are simply
// never sent. Packets go by UDP unicast to 127.0.0.1 ports given by the parent (one per UE): the same
// ciphertext to every UE, as a multicast bearer would carry it.
//
// IPC (test instrumentation, not a log): parent → child {type: "start" | "addUser" | "stream" | "stopStream" | "stop"};
// child → parent {type: "ready" | "userAdded" | "tek" | "sent" | "streamStopped" | "error"}. The "tek" message
// carries the TEK to the test as its oracle; nothing here prints key material — stdout/stderr carry only the
// SessionManager's and key server's own log lines, which the test scans for key bytes.
import dgram from "node:dgram";

const dist = new URL("../../dist/", import.meta.url);
const { openKeyStore, SessionManager, createKeyServer, consoleLogger } = await import(new URL("mbms/bmsc/index.js", dist).href);
const { SrtpContext } = await import(new URL("srtp/index.js", dist).href);

const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const send = (m) => {
  if (process.connected) process.send(m);
};

let cfg;
let store;
let manager;
let server;
let sock;
let ctx; // the sender's SRTP context
let sendMki; // hex of the MKI `ctx` protects with
const pendingSwitches = new Set();
let streamTimer;
let nextPacket;
let reported = []; // [{ first, last, mki }] not yet reported

function onTek(e) {
  // Copy: masterKey / masterSalt are zeroed once the listeners return.
  const init = { key: e.masterKey.slice(), salt: e.masterSalt.slice(), mki: e.mki.slice() };
  const mki = hex(e.mki);
  send({ type: "tek", tgkId: e.tgkId, mki, key: hex(e.masterKey), salt: hex(e.masterSalt), startsAt: e.startsAt, resumed: e.resumed });
  if (!ctx) {
    ctx = new SrtpContext({ profile: "AES_CM_128_HMAC_SHA1_80", keys: [init] });
  } else if (!ctx.hasKey(init.mki)) {
    ctx.addKey(init);
  }
  init.key.fill(0);
  init.salt.fill(0);
  const switchNow = () => {
    if (!ctx) return;
    ctx.setSendKey(init.mki);
    sendMki = mki;
  };
  const delay = e.startsAt - Date.now();
  if (delay <= 0 || sendMki === undefined) switchNow();
  else {
    const t = setTimeout(() => {
      pendingSwitches.delete(t);
      switchNow();
    }, delay);
    pendingSwitches.add(t);
  }
}

const HEADER = 12;
const PAYLOAD = 40;

function sendPacket(n) {
  const buf = Buffer.alloc(HEADER + PAYLOAD + ctx.trailerLength);
  buf[0] = 0x80;
  buf[1] = 96;
  buf.writeUInt16BE(n & 0xffff, 2);
  buf.writeUInt32BE((n * 160) >>> 0, 4);
  buf.writeUInt32BE(cfg.ssrc >>> 0, 8);
  buf.writeUInt32BE(n >>> 0, HEADER);
  buf.writeUInt32BE(cfg.incarnation >>> 0, HEADER + 4);
  for (let i = 8; i < PAYLOAD; i++) buf[HEADER + i] = (n + i) & 0xff;
  const len = ctx.protect(buf, HEADER + PAYLOAD);
  for (const port of cfg.uePorts) sock.send(buf, 0, len, port, "127.0.0.1");
  const last = reported[reported.length - 1];
  if (last && last.last === n - 1 && last.mki === sendMki) last.last = n;
  else reported.push({ first: n, last: n, mki: sendMki });
}

function streamTick() {
  if (!ctx) return;
  const due = Math.floor((Date.now() - cfg.t0) / cfg.intervalMs);
  // First tick of this incarnation: start after every packet an earlier incarnation may have sent.
  if (nextPacket === undefined) nextPacket = due + 1;
  for (; nextPacket <= due; nextPacket++) sendPacket(nextPacket);
  flushReports();
}

function flushReports() {
  if (reported.length === 0) return;
  send({ type: "sent", incarnation: cfg.incarnation, ranges: reported });
  reported = [];
}

function startStream(t0) {
  cfg.t0 = t0;
  if (streamTimer) return;
  streamTimer = setInterval(streamTick, Math.max(1, Math.floor(cfg.intervalMs / 2)));
}

async function start(c) {
  cfg = c;
  store = openKeyStore(c.dbPath, { synchronous: "normal" });
  manager = await SessionManager.create({
    store, logger: consoleLogger, ...(c.derivation ? { derivation: c.derivation } : {}),
    services: [{ serviceId: c.serviceId, tgkLifetimeMs: c.tgkLifetimeMs, tekRand2PeriodMs: c.tekRand2PeriodMs, nextTgkLeadMs: c.nextTgkLeadMs }],
  });
  manager.onTek(onTek);
  sock = dgram.createSocket("udp4");
  await new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, "127.0.0.1", () => {
      sock.off("error", reject);
      resolve();
    });
  });
  server = createKeyServer({ manager, logger: consoleLogger });
  let addr;
  let portReused = false;
  try {
    addr = await server.listen(c.port ?? 0, "127.0.0.1");
    portReused = !!c.port;
  } catch (e) {
    if (!c.port || e.code !== "EADDRINUSE") throw e;
    server = createKeyServer({ manager, logger: consoleLogger });
    addr = await server.listen(0, "127.0.0.1");
  }
  await manager.start(); // announces the TEK in force (resumed: true after a restart) before the first packet
  send({ type: "ready", port: addr.port, portReused, incarnation: c.incarnation });
  if (c.t0 !== undefined) startStream(c.t0);
}

async function stop() {
  if (streamTimer) clearInterval(streamTimer);
  streamTimer = undefined;
  for (const t of pendingSwitches) clearTimeout(t);
  pendingSwitches.clear();
  flushReports();
  await manager?.stop();
  await server?.close();
  await new Promise((resolve) => (sock ? sock.close(() => resolve()) : resolve()));
  ctx?.close();
  store?.close();
}

process.on("message", (m) => {
  (async () => {
    switch (m.type) {
      case "start":
        await start(m.config);
        break;
      case "addUser":
        await manager.addUser(m.userId, new Uint8Array(Buffer.from(m.kek, "hex")));
        send({ type: "userAdded", userId: m.userId });
        break;
      case "stream":
        startStream(m.t0);
        break;
      case "stopStream":
        if (streamTimer) clearInterval(streamTimer);
        streamTimer = undefined;
        flushReports();
        send({ type: "streamStopped" });
        break;
      case "stop":
        await stop();
        send({ type: "stopped" });
        process.disconnect();
        break;
    }
  })().catch((e) => {
    send({ type: "error", message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), code: e?.code });
  });
});
