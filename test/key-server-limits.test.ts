// The key server's limits on a real `http` server at 127.0.0.1 (port 0):
// - per-user rate limit and nonce cap (items of the flood: 429 + retry-after, the nonce store bounded, a
//   second user unaffected), on the memory and the SQLite store; limits apply to authentic requests only
//   (replays and bad MACs cost a victim nothing); idle token buckets are dropped;
// - slow clients: stalled sockets closed by the server within headersTimeout + ~1.5 s while a normal
//   client is served, the per-IP cap. Everything is closed at the end; loops are bounded by time and count.
import http from "node:http";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createKeyServer, type KeyServer, type KeyServerOptions, type RequestInfo } from "../src/mbms/bmsc/key-server.js";
import { UserRateLimiter } from "../src/mbms/bmsc/rate-limiter.js";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import { silentLogger } from "../src/logger.js";
import { MemoryKeyStore, SqliteKeyStore, type KeyStore } from "../src/mbms/bmsc/store/index.js";
import { KEYS_PATH, signRequest } from "../src/mbms/http-protocol.js";

const dir = mkdtempSync(join(tmpdir(), "ks-limits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const ALICE = new Uint8Array(16).fill(0xa1);
const BOB = new Uint8Array(16).fill(0xb0);
const BODY = JSON.stringify({ serviceId: "news", have: [] });

interface Rig { ks: KeyServer; mgr: SessionManager; store: KeyStore; port: number; infos: RequestInfo[] }
const rigs: Rig[] = [];
const agents: http.Agent[] = [];
const sockets = new Set<net.Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const a of agents.splice(0)) a.destroy();
  for (const r of rigs.splice(0)) {
    await r.mgr.stop();
    await r.ks.close();
    r.store.close();
  }
});

async function rig(store: KeyStore, options: Partial<KeyServerOptions> = {}): Promise<Rig> {
  const mgr = await SessionManager.create({ store, logger: silentLogger, services: [{ serviceId: "news", tgkLifetimeMs: 3_600_000 }] });
  await mgr.addUser("alice", ALICE);
  await mgr.addUser("bob", BOB);
  await mgr.start();
  const infos: RequestInfo[] = [];
  const ks = createKeyServer({ manager: mgr, logger: silentLogger, onRequest: (i) => infos.push(i), ...options });
  const port = (await ks.listen(0, "127.0.0.1")).port;
  const r = { ks, mgr, store, port, infos };
  rigs.push(r);
  return r;
}

interface Resp { status: number; retryAfter?: string; body: string }
function post(port: number, headers: Record<string, string>, agent: http.Agent | false = false, body = BODY): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: KEYS_PATH, headers: { ...headers, "content-type": "application/json" }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], body: res.statusCode === 200 ? "" : Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
const sign = (userId: string, kek: Uint8Array): Record<string, string> => ({ ...signRequest({ kek, userId, method: "POST", path: KEYS_PATH, body: BODY, timeMs: Date.now() }) });

/** `workers` keep-alive clients sending alice's signed requests back to back for `ms` (few: the suite runs beside load-sensitive ones). */
async function flood(port: number, ms: number, workers = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
  agents.push(agent);
  const counts = new Map<number, number>();
  const retryAfter = new Set<string | undefined>();
  const bodies = new Set<string>();
  const end = Date.now() + ms;
  await Promise.all(Array.from({ length: workers }, async () => {
    for (let i = 0; i < 1_000_000 && Date.now() < end; i++) {
      const r = await post(port, sign("alice", ALICE), agent);
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      if (r.status === 429) {
        retryAfter.add(r.retryAfter);
        bodies.add(r.body);
      }
    }
  }));
  return { counts, retryAfter, bodies };
}

const backends: [string, () => KeyStore][] = [
  ["MemoryKeyStore", () => new MemoryKeyStore()],
  ["SqliteKeyStore", () => new SqliteKeyStore(join(dir, `s-${fileNo++}.db`))],
];

describe.each(backends)("per-user limits on %s", (name, open) => {
  it("a flood of authentic requests: 429 + retry-after past the bucket, a second user unaffected, nonces bounded", async () => {
    const r = await rig(open()); // defaults: 2/s, burst 5, 128 nonces per user
    const bobStatuses: number[] = [];
    const ms = 1500;
    const bob = (async () => {
      // Within bob's own allowance: 5 requests in ~1.5 s (burst 5, 2/s).
      for (let i = 0; i < 5; i++) {
        bobStatuses.push((await post(r.port, sign("bob", BOB))).status);
        await new Promise((res) => setTimeout(res, 350));
      }
    })();
    const t0 = Date.now();
    const f = await flood(r.port, ms);
    const took = Date.now() - t0;
    await bob;
    const ok = f.counts.get(200) ?? 0;
    const limited = f.counts.get(429) ?? 0;
    console.info(`${name}: alice flood ${took} ms: ${ok} accepted, ${limited} x 429 (${Math.round(((ok + limited) * 1000) / took)} req/s offered, ${((ok * 1000) / took).toFixed(1)} accepted/s); alice's nonces ${r.store.countNonces("alice")}, buckets held ${r.ks.limiter.size}`);
    expect([...f.counts.keys()].sort()).toEqual([200, 429]);
    expect(ok).toBeGreaterThanOrEqual(5);
    expect(ok).toBeLessThanOrEqual(5 + Math.ceil((2 * took) / 1000) + 1);
    expect(limited).toBeGreaterThan(10 * ok);
    expect(f.bodies).toEqual(new Set(['{"error":"too_many_requests"}']));
    for (const v of f.retryAfter) expect(Number(v)).toBeGreaterThanOrEqual(1);
    expect(bobStatuses).toEqual(Array(5).fill(200));
    expect(r.store.countNonces("alice")).toBe(ok);
    expect(r.store.countNonces()).toBe(ok + 5);
    expect(r.ks.limiter.size).toBeLessThanOrEqual(2);
  }, 20_000);

  it("the nonce cap binds when the rate allows more: alice's nonces stay at the cap, 429 with retry-after ≈ their expiry", async () => {
    const r = await rig(open(), { rateLimit: { ratePerSec: 1e6, burst: 1e6 }, maxNoncesPerUser: 40 });
    const f = await flood(r.port, 600);
    const ok = f.counts.get(200) ?? 0;
    console.info(`${name}: cap 40, unlimited rate: ${ok} accepted, ${f.counts.get(429) ?? 0} x 429 (retry-after ${[...f.retryAfter].join(",")} s), alice's nonces ${r.store.countNonces("alice")}`);
    expect(ok).toBe(40);
    expect(r.store.countNonces("alice")).toBe(40);
    expect(f.counts.get(429)).toBeGreaterThan(40);
    // A nonce lives until its time + max skew (5 min): the soonest frees up in about 300 s.
    for (const v of f.retryAfter) expect(Number(v)).toBeGreaterThan(290);
    expect(r.infos.filter((i) => i.status === 429).every((i) => i.reason === "nonce_cap" && i.userId === "alice")).toBe(true);
    expect((await post(r.port, sign("bob", BOB))).status).toBe(200);
  }, 20_000);
});

describe("limits count authentic requests only", () => {
  it("replays of a captured request and bad MACs in the victim's name cost the victim nothing", async () => {
    const r = await rig(new MemoryKeyStore());
    const captured = sign("alice", ALICE);
    expect((await post(r.port, captured)).status).toBe(200);
    const forged = { ...sign("alice", ALICE), authorization: `MBMS-HMAC-SHA1 ${"00".repeat(20)}` };
    for (let i = 0; i < 30; i++) {
      expect((await post(r.port, captured)).status).toBe(401);
      expect((await post(r.port, forged)).status).toBe(401);
    }
    // The burst (5) is still there but one: four fresh requests pass, then the bucket is empty.
    const fresh: number[] = [];
    for (let i = 0; i < 5; i++) fresh.push((await post(r.port, sign("alice", ALICE))).status);
    expect(fresh).toEqual([200, 200, 200, 200, 429]);
    expect(r.store.countNonces("alice")).toBe(5);
  });

  it("idle token buckets are dropped (a bucket idle for burst / rate is full: the same as none)", () => {
    const l = new UserRateLimiter({ ratePerSec: 2, burst: 5 });
    for (let i = 0; i < 10_000; i++) l.take(`user-${i}`, 1000 + (i % 100));
    expect(l.size).toBe(10_000);
    expect(l.waitMs("user-1", 1100)).toBe(0);
    for (let i = 0; i < 4; i++) l.take("busy", 1100);
    expect(l.waitMs("busy", 1100)).toBe(0);
    l.take("busy", 1100);
    expect(l.waitMs("busy", 1100)).toBe(500); // one token per 500 ms
    l.take("late", 1000 + 2500 + 99); // 2.5 s after all but "busy": their buckets are full again
    expect(l.size).toBe(2);
    expect(l.waitMs("user-5", 3600)).toBe(0);
  });
});

// ---- slow clients ----

/** A raw socket to the server that writes `data` once connected; resolves with it once connected. */
function rawSocket(port: number, data: string): Promise<{ sock: net.Socket; openedAt: number; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    sockets.add(sock);
    sock.on("data", () => {});
    const closed = new Promise<number>((res) => sock.once("close", () => res(Date.now())));
    sock.once("error", () => {});
    sock.once("connect", () => {
      if (data) sock.write(data);
      resolve({ sock, openedAt: Date.now(), closed });
    });
    sock.once("error", reject);
  });
}

const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))]);

describe("slow clients", () => {
  it("200 stalled sockets (silent, half a request line, headers without end, half a body) are closed by the server within headersTimeout + 1.5 s; a normal client is served meanwhile", async () => {
    const headersTimeoutMs = 1000;
    const requestTimeoutMs = 2000;
    const r = await rig(new MemoryKeyStore(), { headersTimeoutMs, requestTimeoutMs, maxConnectionsPerIp: 300 });
    const h = sign("alice", ALICE);
    const partials = [
      "",
      "POST /mbms/v1/ke",
      `POST ${KEYS_PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: 40\r\n`,
      `POST ${KEYS_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n{"servi`,
    ];
    const opened = await Promise.all(Array.from({ length: 200 }, (_, i) => rawSocket(r.port, partials[i % 4]!)));
    // A well-behaved client, while all 200 are stalled.
    expect((await post(r.port, sign("bob", BOB))).status).toBe(200);
    const life = await Promise.all(opened.map(async (o, i) => {
      const at = await within(o.closed, requestTimeoutMs + 3000);
      return { kind: i % 4, ms: at === "timeout" ? Infinity : at - o.openedAt };
    }));
    const worst = [0, 1, 2, 3].map((k) => Math.max(...life.filter((l) => l.kind === k).map((l) => l.ms)));
    console.info(`slow clients: 200 stalled sockets, longest open (ms) by kind [silent, half request line, headers unfinished, body unfinished]: ${worst.join(", ")}`);
    // Headers not complete: headersTimeout; the body never completes: requestTimeout (both checked every 500 ms).
    for (const k of [0, 1, 2]) expect(worst[k]).toBeLessThanOrEqual(headersTimeoutMs + 1500);
    expect(worst[3]).toBeLessThanOrEqual(requestTimeoutMs + 1500);
    expect((await post(r.port, sign("bob", BOB))).status).toBe(200);
  }, 20_000);

  it("per-IP cap: connections beyond it are closed at once, the ones within stay; room again once they close", async () => {
    const r = await rig(new MemoryKeyStore(), { maxConnectionsPerIp: 8, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 });
    const opened = await Promise.all(Array.from({ length: 20 }, () => rawSocket(r.port, "POST /")));
    const results = await Promise.all(opened.map((o) => within(o.closed, 1000)));
    const closedSoon = results.filter((x) => x !== "timeout").length;
    console.info(`per-IP cap 8: of 20 sockets ${closedSoon} closed by the server within 1 s`);
    expect(closedSoon).toBe(12);
    for (const o of opened) o.sock.destroy();
    await new Promise((res) => setTimeout(res, 100));
    expect((await post(r.port, sign("bob", BOB))).status).toBe(200);
  }, 20_000);

  it("maxConnections: beyond it sockets are dropped", async () => {
    const r = await rig(new MemoryKeyStore(), { maxConnections: 5, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 });
    const opened = await Promise.all(Array.from({ length: 9 }, () => rawSocket(r.port, "POST /")));
    const results = await Promise.all(opened.map((o) => within(o.closed, 1000)));
    expect(results.filter((x) => x !== "timeout").length).toBe(4);
  });
});
