// The BM-SC on an asynchronous store (issue 11): the `store` option takes either kind without ambiguity; a
// store whose calls reject (a database gone away for a moment) costs a logged, counted step that the next
// tick retries, and a 500 for the key request it hit, never an unhandled rejection; a store slower than the
// TEK_RAND2 period never runs two rotations of one service at once nor announces a TEK twice.
import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MemoryKeyStore, SessionManager, asyncStore, createKeyServer, isAsyncKeyStore, toAsyncStore, type Logger, type RequestInfo, type TekEvent,
} from "../src/mbms/bmsc/index.js";
import { KEYS_PATH, signRequest } from "../src/mbms/http-protocol.js";
import { openMbmsKeyMessage } from "../src/mbms/key-message.js";
import { FaultyStore } from "./helpers/faulty-store.js";
import { ManualClock } from "./helpers/manual-clock.js";

const SERVICE = "urn:mbms:async:1";
const PERIOD = 1_000, LIFE = 60_000;
const KEK = new Uint8Array(16).fill(0x3c);

let unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => void unhandled.push(e);
beforeEach(() => {
  unhandled = [];
  process.on("unhandledRejection", onUnhandled);
});
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

function rig(clock = new ManualClock(), retryMs = PERIOD / 4) {
  const faulty = new FaultyStore(clock);
  const logs: { message: string; code?: unknown }[] = [];
  const logger: Logger = (_level, message, fields) => void logs.push({ message, code: fields?.code });
  const teks: TekEvent[] = [];
  const create = () => SessionManager.create({
    store: faulty.store, clock, logger, retryMs,
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: PERIOD, tgkLifetimeMs: LIFE }],
    onTek: (e) => void teks.push({ ...e, masterKey: new Uint8Array(0), masterSalt: new Uint8Array(0) }),
  });
  return { clock, faulty, logs, teks, create };
}

describe("the store option", () => {
  it("takes a KeyStore (lifted) or an AsyncKeyStore (kept as is): manager.store is the AsyncKeyStore either way", async () => {
    const memory = new MemoryKeyStore();
    expect(isAsyncKeyStore(memory)).toBe(false);
    const lifted = new SessionManager({ store: memory }).store;
    expect(lifted.async).toBe(true);
    await lifted.addService({ serviceId: "s", csbId: 1, csId: 1, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand: new Uint8Array(16) });
    expect(memory.getService("s")?.csbId).toBe(1); // the calls reach the synchronous store
    const network = asyncStore(memory);
    expect(isAsyncKeyStore(network)).toBe(true);
    expect(new SessionManager({ store: network }).store).toBe(network);
    expect(toAsyncStore(network)).toBe(network);
    // A synchronous failure comes back as a rejection with its code, never a throw out of the call.
    await expect(lifted.addService({ serviceId: "s", csbId: 1, csId: 1, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand: new Uint8Array(16) }))
      .rejects.toMatchObject({ code: "ERR_DUPLICATE" });
    expect(() => new SessionManager({ store: memory, services: [{ serviceId: "x" }] } as never)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    memory.close();
  });
});

describe("a store whose calls reject", () => {
  it("the rotation timer logs the code, counts the step and rotates at the next tick, on the period grid", async () => {
    const { clock, faulty, logs, teks, create } = rig();
    const mgr = await create();
    await mgr.start();
    expect(teks).toHaveLength(1);
    const grid = teks[0]!.startsAt;
    faulty.failNth("rotateTekRand2");
    await clock.advanceSettled(PERIOD); // the period ends: its rotation fails
    expect(teks).toHaveLength(1);
    expect(mgr.scheduleFailures).toBe(1);
    expect(logs.filter((l) => l.message === "schedule step failed")).toEqual([{ message: "schedule step failed", code: "ERR_STORE" }]);
    await clock.advanceSettled(PERIOD / 4); // the retry
    expect(teks.map((e) => e.startsAt)).toEqual([grid, grid + PERIOD]);
    for (let i = 2; i <= 5; i++) await clock.advanceSettled(PERIOD);
    expect(teks.map((e) => e.startsAt - grid)).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * PERIOD));
    expect(mgr.scheduleFailures).toBe(1);
    await mgr.stop();
  });

  it("a failure while generating the next TGK is retried too: the chain is complete before the TGK in force expires", async () => {
    const { clock, faulty, teks, create } = rig();
    const mgr = await create();
    await mgr.start();
    faulty.failNth("allocateTgkId");
    await clock.advanceSettled(LIFE - LIFE / 4); // the next TGK is due now: the first try fails
    expect(mgr.scheduleFailures).toBe(1);
    expect(faulty.memory.listTgks(SERVICE)).toHaveLength(1);
    await clock.advanceSettled(PERIOD / 4);
    expect(faulty.memory.listTgks(SERVICE)).toHaveLength(2);
    await clock.advanceSettled(LIFE / 4);
    const [next] = faulty.memory.listTgks(SERVICE);
    expect(teks.at(-1)).toMatchObject({ tgkId: next!.tgkId, startsAt: next!.validFrom });
    await mgr.stop();
  });
});

describe("the key server on a store whose calls reject", () => {
  let server: ReturnType<typeof createKeyServer> | undefined;
  let mgr: SessionManager | undefined;
  afterEach(async () => {
    await mgr?.stop();
    await server?.close();
  });

  const post = (port: number) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const body = JSON.stringify({ serviceId: SERVICE, have: [] });
    const headers = { ...signRequest({ kek: KEK, userId: "alice", method: "POST", path: KEYS_PATH, body, timeMs: Date.now() }), "content-type": "application/json" };
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: KEYS_PATH, headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString("latin1")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });

  it("answers 500 without detail for the request a failure hit (the request's read, the nonce) and keeps serving", async () => {
    const { faulty, logs, create } = rig(new ManualClock(Date.now()));
    mgr = await create();
    await mgr.addUser("alice", KEK);
    await mgr.start();
    const infos: RequestInfo[] = [];
    server = createKeyServer({
      manager: mgr, logger: (_l, message, f) => void logs.push({ message, code: f?.code }), onRequest: (i) => infos.push(i),
      rateLimit: { ratePerSec: 100, burst: 100 },
    });
    const { port } = await server.listen(0, "127.0.0.1");
    // The read (user, subscription, service, TGKs: readKeyRequest) and the nonce are the request's two store calls.
    for (const method of ["readKeyRequest", "rememberNonce"] as const) {
      faulty.failNth(method);
      const failed = await post(port);
      expect([method, failed.status, failed.body]).toEqual([method, 500, '{"error":"internal"}']);
      const ok = await post(port);
      expect([method, ok.status]).toEqual([method, 200]);
      const d = openMbmsKeyMessage(new Uint8Array(Buffer.from(ok.body, "latin1")), { kek: KEK });
      expect(d.serviceId).toBe(SERVICE);
    }
    expect(infos.map((i) => i.status)).toEqual([500, 200, 500, 200]);
    expect(logs.filter((l) => l.message === "key request failed").map((l) => l.code)).toEqual(["ERR_STORE", "ERR_STORE"]);
  });

  it("a failed nonce purge is logged and counted; the next one runs on time", async () => {
    const { faulty, logs, create } = rig(new ManualClock(Date.now()));
    mgr = await create();
    server = createKeyServer({ manager: mgr, purgeIntervalMs: 20, logger: (_l, message, f) => void logs.push({ message, code: f?.code }) });
    faulty.failNth("purgeNonces");
    await server.listen(0, "127.0.0.1");
    for (let i = 0; i < 200 && (faulty.calls.get("purgeNonces") ?? 0) < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(faulty.calls.get("purgeNonces")).toBeGreaterThanOrEqual(3);
    expect(server.purgeFailures).toBe(1);
    expect(logs.filter((l) => l.message === "nonce purge failed")).toEqual([{ message: "nonce purge failed", code: "ERR_STORE" }]);
  });
});

describe("a store slower than the TEK_RAND2 period", () => {
  it("never runs two rotations of one service at once, announces each TEK once, and piles up no steps", async () => {
    const { clock, faulty, teks, create } = rig(new ManualClock(), PERIOD);
    const mgr = await create();
    await mgr.start();
    faulty.delayMs = 1.5 * PERIOD; // every call: a step takes several periods
    const rotationsBefore = faulty.calls.get("rotateTekRand2")!;
    await clock.advanceSettled(PERIOD + 10); // the first slow step is under way
    // A sender whose TGK expired pulls a step every 50 ms: those join the one waiting, never add up.
    let pulled = 0;
    for (let i = 0; i < 20; i++) void mgr.tick().then(() => pulled++);
    await clock.advanceSettled(30 * PERIOD);
    expect(pulled).toBe(20); // queued one after another, 20 slow steps would take far longer
    const rotations = faulty.calls.get("rotateTekRand2")! - rotationsBefore;
    expect(rotations).toBeGreaterThan(1);
    expect(rotations).toBeLessThan(30 / 4); // a step is ≥ 4 slow calls: no more rotations than steps could make
    expect(faulty.maxConcurrentWrites).toBe(1);
    const keys = teks.map((e) => `${e.tgkId}/${e.startsAt}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(teks.length - 1).toBe(rotations); // each rotation announced once
    for (let i = 1; i < teks.length; i++) expect(teks[i]!.startsAt).toBeGreaterThan(teks[i - 1]!.startsAt);
    // Fast again: back on the period grid, one TEK per period.
    faulty.delayMs = 0;
    await clock.advanceSettled(3 * PERIOD);
    const grid = teks.at(-1)!.startsAt;
    const n = teks.length;
    for (let i = 0; i < 5; i++) await clock.advanceSettled(PERIOD);
    expect(teks.slice(n).map((e) => e.startsAt - grid)).toEqual([1, 2, 3, 4, 5].map((i) => i * PERIOD));
    await mgr.stop();
  });

  it("concurrent key requests that find the next TGK missing make it once", async () => {
    const { clock, faulty, create } = rig();
    const mgr = await create(); // not started: no schedule step makes the next TGK
    await mgr.addUser("alice", KEK);
    await clock.advanceSettled(LIFE - LIFE / 4);
    faulty.delayMs = 50; // every request's reads overlap the others' writes
    const answers = Array.from({ length: 5 }, () => mgr.keyResponse("alice", SERVICE));
    await clock.advanceSettled(10 * PERIOD);
    const tgkIds = (await Promise.all(answers)).map((r) => r.tgkIds);
    const stored = faulty.memory.listTgks(SERVICE).map((t) => t.tgkId);
    expect(stored).toHaveLength(2);
    expect(tgkIds).toEqual(Array(5).fill(stored));
    expect(faulty.maxConcurrentWrites).toBe(1);
  });
});
