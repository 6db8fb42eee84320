// The BM-SC Session Manager (src/mbms/bmsc/session-manager.ts) on a ManualClock: TEK_RAND2 rotation and
// MKIs, the TEK it announces = the TEK a UE derives from the key message it receives, the next TGK before
// expiry, restart on the same SQLite file with identical keys, and no key bytes in errors or log lines.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import type { TekEvent } from "../src/mbms/bmsc/tek-event.js";
import { randomBelow } from "../src/mbms/bmsc/retrieval-window.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { MemoryKeyStore, SqliteKeyStore, type KeyStore } from "../src/mbms/bmsc/store/index.js";
import { deriveSrtpMasterKeys, splitMki } from "../src/mbms/key-hierarchy.js";
import { openMbmsKeyMessage } from "../src/mbms/key-message.js";
import { MbmsError } from "../src/mbms/errors.js";
import { SrtpContext } from "../src/srtp/index.js";

const dir = mkdtempSync(join(tmpdir(), "bmsc-session-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const SEC = 1000;
const LIFE = 60 * SEC, LEAD = 15 * SEC, PERIOD = SEC;

/** Every console line written while a test runs, and every key-like byte string seen, to check against. */
let lines: string[] = [];
const secrets = new Set<string>();
const remember = (...bs: Uint8Array[]) => bs.forEach((b) => secrets.add(hex(b)));
beforeEach(() => {
  lines = [];
  for (const m of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const line of lines) for (const s of secrets) expect(line.toLowerCase()).not.toContain(s);
});

interface Rig { clock: ManualClock; store: KeyStore; mgr: SessionManager; teks: TekEvent[] }
async function rig(store: KeyStore = new MemoryKeyStore(), clock = new ManualClock()): Promise<Rig> {
  const teks: TekEvent[] = [];
  const mgr = await SessionManager.create({
    store, clock,
    services: [{ serviceId: "svc-1", tgkLifetimeMs: LIFE, tekRand2PeriodMs: PERIOD, nextTgkLeadMs: LEAD }],
    onTek: (e) => {
      // The manager zeroes the event's keys after the listeners return: keep copies.
      const copy = { ...e, mki: e.mki.slice(), masterKey: e.masterKey.slice(), masterSalt: e.masterSalt.slice() };
      remember(copy.masterKey, copy.masterSalt);
      teks.push(copy);
    },
  });
  return { clock, store, mgr, teks };
}

const kekOf = (n: number) => new Uint8Array(16).fill(n);

/** What a UE does: open the key message with its KEK, derive the TEK for the MKI. */
function ueDerive(body: Uint8Array, kek: Uint8Array, mki: Uint8Array, nowMs: number) {
  const d = openMbmsKeyMessage(body, { kek, nowMs });
  const { tgkId } = splitMki(mki);
  const g = d.tgks.find((t) => t.tgkId === tgkId);
  if (!g) throw new Error(`TGK ${tgkId} not delivered`);
  remember(...d.tgks.map((t) => t.tgk), d.tekRand);
  return { delivery: d, keys: deriveSrtpMasterKeys({ tgk: g.tgk, tgkId, csbId: d.csbId, csId: d.csId, tekRand: d.tekRand, mki }) };
}

describe("SessionManager", () => {
  it("rotates TEK_RAND2 on its period: distinct MKIs, each prefixed with the TGK-ID in force", async () => {
    const { clock, mgr, teks, store } = await rig();
    await mgr.start();
    expect(teks).toHaveLength(1);
    for (let i = 0; i < 20; i++) await clock.advanceSettled(PERIOD);
    await mgr.stop();
    expect(teks.length).toBe(21);
    const mkis = teks.map((t) => hex(t.mki));
    expect(new Set(mkis).size).toBe(mkis.length);
    const [current] = store.listTgks("svc-1");
    for (const t of teks) {
      expect(t.mki.length).toBe(12);
      expect(splitMki(t.mki).tgkId).toBe(t.tgkId);
      expect(t.tgkId).toBe(current!.tgkId);
      expect(new DataView(t.mki.buffer).getUint32(0)).toBe(current!.tgkId);
    }
    // Periods on a fixed grid from the first one.
    teks.forEach((t, i) => expect(t.startsAt).toBe(teks[0]!.startsAt + i * PERIOD));
    expect(new Set(teks.map((t) => hex(t.masterKey))).size).toBe(teks.length);
    expect(clock.pendingTimers).toBe(0); // stop() cleared its timer
  });

  it("the TEK it announces is the one a UE derives from its key message (and decrypts SRTP with)", async () => {
    const { clock, mgr, teks } = await rig();
    const kek = kekOf(7);
    remember(kek);
    await mgr.addUser("alice", kek);
    await mgr.start();
    await clock.advanceSettled(3 * PERIOD);
    const resp = await mgr.keyResponse("alice", "svc-1");
    for (const tek of teks) {
      const { keys } = ueDerive(resp.body, kek, tek.mki, clock.now());
      expect(hex(keys.masterKey)).toBe(hex(tek.masterKey));
      expect(hex(keys.masterSalt)).toBe(hex(tek.masterSalt));
    }
    // End to end: the sender protects with the announced TEK, the UE's context unprotects.
    const last = teks[teks.length - 1]!;
    const { keys } = ueDerive(resp.body, kek, last.mki, clock.now());
    const tx = new SrtpContext({ keys: [{ key: last.masterKey, salt: last.masterSalt, mki: last.mki }] });
    const rx = new SrtpContext({ keys: [{ key: keys.masterKey, salt: keys.masterSalt, mki: last.mki }] });
    const buf = new Uint8Array(12 + 40 + 64);
    buf[0] = 0x80; buf[1] = 96; buf[3] = 1; buf[11] = 0x42;
    buf.fill(0xab, 12, 52);
    const clear = buf.slice(0, 52);
    const n = tx.protect(buf, 52);
    expect(n).toBe(52 + 12 + 10);
    expect(hex(buf.subarray(0, 52))).not.toBe(hex(clear));
    expect(rx.unprotect(buf, n)).toBe(52);
    expect(hex(buf.subarray(0, 52))).toBe(hex(clear));
    tx.close(); rx.close();
    await mgr.stop();
  });

  it("generates the next TGK nextTgkLeadMs before the current one expires, and switches MKI at expiry", async () => {
    const { clock, mgr, teks, store } = await rig();
    const kek = kekOf(9);
    remember(kek);
    await mgr.addUser("bob", kek);
    const t0 = clock.now();
    await mgr.start();
    const first = store.listTgks("svc-1");
    expect(first).toHaveLength(1);
    expect(first[0]!.expiresAt).toBe(t0 + LIFE);
    let r = await mgr.keyResponse("bob", "svc-1");
    expect(r.tgkIds).toEqual([first[0]!.tgkId]);
    // Retrieval window inside [E − lead, E − lead/2).
    expect(r.rekeyFrom).toBeGreaterThanOrEqual(t0 + LIFE - LEAD);
    expect(r.rekeyFrom + r.rekeyWindow).toBeLessThanOrEqual(t0 + LIFE - LEAD / 2);
    await clock.advanceSettled(LIFE - LEAD - 1);
    expect(store.listTgks("svc-1")).toHaveLength(1);
    await clock.advanceSettled(1);
    const both = store.listTgks("svc-1");
    expect(both).toHaveLength(2);
    expect(both[1]!.validFrom).toBe(both[0]!.expiresAt);
    r = await mgr.keyResponse("bob", "svc-1");
    expect(r.tgkIds).toEqual(both.map((t) => t.tgkId));
    const d = openMbmsKeyMessage(r.body, { kek, nowMs: clock.now() });
    remember(...d.tgks.map((t) => t.tgk));
    expect(d.tgks.map((t) => [t.tgkId, t.validFrom, t.expiresAt])).toEqual(both.map((t) => [t.tgkId, t.validFrom, t.expiresAt]));
    // Next window: relative to the last TGK delivered.
    expect(r.rekeyFrom).toBeGreaterThanOrEqual(both[1]!.expiresAt - LEAD);
    // At expiry the TEK switches to the next TGK at once (not at the next TEK_RAND2 period).
    const before = teks.length;
    await clock.advanceSettled(LEAD);
    const after = teks.slice(before);
    const switched = after.find((t) => t.tgkId === both[1]!.tgkId)!;
    expect(switched).toBeDefined();
    expect(switched.startsAt).toBe(both[0]!.expiresAt);
    expect(store.getTgk("svc-1", both[0]!.tgkId)).toBeUndefined(); // expired TGKs are deleted
    await mgr.stop();
  });

  it("spreads users over the retrieval window (hash slots cover the window)", async () => {
    const { mgr } = await rig();
    const E = mgr.clock.now() + LIFE;
    const slots = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const w = mgr.retrievalWindow(`user-${i}`, "svc-1", E, 1);
      expect(w.from).toBeGreaterThanOrEqual(E - LEAD);
      expect(w.from + w.window).toBeLessThanOrEqual(E - LEAD / 2);
      slots.set(w.from, (slots.get(w.from) ?? 0) + 1);
    }
    expect(slots.size).toBe(16);
    for (const n of slots.values()) expect(n).toBeGreaterThan(2000 / 16 / 2);
  });

  it("the \"random\" spread picks slots with the CSPRNG (never Math.random), rejection-sampled without modulo bias", async () => {
    const mathRandom = vi.spyOn(Math, "random");
    const clock = new ManualClock();
    const mgr = await SessionManager.create({
      store: new MemoryKeyStore(), clock, rekeySpread: "random", rekeySlots: 3,
      services: [{ serviceId: "svc-1", tgkLifetimeMs: LIFE, tekRand2PeriodMs: PERIOD, nextTgkLeadMs: LEAD }],
    });
    const E = clock.now() + LIFE;
    const total = Math.floor(LEAD / 2);
    const slotOf = (from: number) => Math.floor((from - (E - LEAD)) / Math.floor(total / 3));
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(slotOf(mgr.retrievalWindow("u", "svc-1", E, 1).from));
    expect([...seen].sort()).toEqual([0, 1, 2]);
    expect(mathRandom).not.toHaveBeenCalled();
    // 2^32 mod 3 = 1: the one u32 value 0xffffffff is rejected (it would make slot 0 likelier), the next draw used.
    const draws = [0xffffffff, 5];
    const grv = vi.spyOn(globalThis.crypto, "getRandomValues").mockImplementation(<T extends ArrayBufferView | null>(a: T): T => {
      (a as unknown as Uint32Array)[0] = draws.shift()!;
      return a;
    });
    expect(randomBelow(3)).toBe(2);
    expect(grv).toHaveBeenCalledTimes(2);
    grv.mockRestore();
    expect(() => randomBelow(0)).toThrow(MbmsError);
  });

  it("a restart on the same SQLite file resumes with the same TGKs, TEK_RAND and TEK_RAND2 (same MKI, same TEK)", async () => {
    const file = join(dir, "restart.db");
    const clock = new ManualClock();
    const a = await rig(new SqliteKeyStore(file), clock);
    const kek = kekOf(3);
    remember(kek);
    await a.mgr.addUser("carol", kek);
    await a.mgr.start();
    await clock.advanceSettled(5 * PERIOD + 300);
    const before = a.teks[a.teks.length - 1]!;
    const svcBefore = a.store.getService("svc-1")!;
    remember(svcBefore.tekRand);
    const tgksBefore = a.store.listTgks("svc-1").map((t) => [t.tgkId, hex(t.tgk)]);
    await a.mgr.stop();
    a.store.close();

    await clock.advanceSettled(200); // still inside the same TEK_RAND2 period
    const b = await rig(new SqliteKeyStore(file), clock);
    await b.mgr.start();
    expect(b.teks).toHaveLength(1);
    const resumed = b.teks[0]!;
    expect(resumed.resumed).toBe(true);
    expect(hex(resumed.mki)).toBe(hex(before.mki));
    expect(hex(resumed.masterKey)).toBe(hex(before.masterKey));
    expect(hex(resumed.masterSalt)).toBe(hex(before.masterSalt));
    expect(resumed.startsAt).toBe(before.startsAt);
    const svcAfter = b.store.getService("svc-1")!;
    expect(svcAfter.csbId).toBe(svcBefore.csbId);
    expect(hex(svcAfter.tekRand)).toBe(hex(svcBefore.tekRand));
    expect(b.store.listTgks("svc-1").map((t) => [t.tgkId, hex(t.tgk)])).toEqual(tgksBefore);
    // The user survived the restart and the UE still derives the resumed TEK.
    const { keys } = ueDerive((await b.mgr.keyResponse("carol", "svc-1")).body, kek, resumed.mki, clock.now());
    expect(hex(keys.masterKey)).toBe(hex(resumed.masterKey));
    // And the schedule goes on from the same grid.
    await clock.advanceSettled(PERIOD);
    expect(b.teks[1]!.startsAt).toBe(before.startsAt + PERIOD);
    expect(hex(b.teks[1]!.mki)).not.toBe(hex(before.mki));
    await b.mgr.stop();
    b.store.close();
  });

  it("rotateTekNow: a restarted sender gets a fresh TEK at once (its SRTP index starts over), persisted and derivable", async () => {
    const file = join(dir, "rotate-now.db");
    const clock = new ManualClock();
    const a = await rig(new SqliteKeyStore(file), clock);
    const kek = kekOf(4);
    remember(kek);
    await a.mgr.addUser("dave", kek);
    await a.mgr.start();
    await clock.advanceSettled(2 * PERIOD + 100);
    const before = a.teks.at(-1)!;
    await a.mgr.stop();
    a.store.close();

    await clock.advanceSettled(100); // same period: start() resumes `before`
    const b = await rig(new SqliteKeyStore(file), clock);
    await b.mgr.start();
    expect(b.teks[0]!.resumed).toBe(true);
    await b.mgr.rotateTekNow("svc-1");
    expect(b.teks).toHaveLength(2);
    const fresh = b.teks[1]!;
    expect(fresh.resumed).toBe(false);
    expect(fresh.startsAt).toBe(clock.now());
    expect(hex(fresh.mki)).not.toBe(hex(before.mki));
    expect(hex(fresh.masterKey)).not.toBe(hex(before.masterKey));
    // A UE keyed now derives it, and the store holds it (a second restart resumes the fresh one).
    const { keys } = ueDerive((await b.mgr.keyResponse("dave", "svc-1")).body, kek, fresh.mki, clock.now());
    expect(hex(keys.masterKey)).toBe(hex(fresh.masterKey));
    await b.mgr.stop();
    b.store.close();
    const c = await rig(new SqliteKeyStore(file), clock);
    await c.mgr.start();
    expect(hex(c.teks[0]!.mki)).toBe(hex(fresh.mki));
    // The next period follows the new grid.
    await clock.advanceSettled(PERIOD);
    expect(c.teks[1]!.startsAt).toBe(fresh.startsAt + PERIOD);
    await expect(c.mgr.rotateTekNow("no-such-service")).rejects.toThrow(MbmsError);
    await c.mgr.stop();
    c.store.close();
  });

  it("refuses a cs_id no key message can carry, configured or stored (receivers derive with 1)", async () => {
    const { mgr, store } = await rig();
    const code = (fn: () => Promise<unknown>) => fn().then(() => "accepted", (e: MbmsError) => e.code);
    expect(await code(() => mgr.addService({ serviceId: "svc-7", csId: 7 }))).toBe("ERR_ARGUMENT");
    expect(store.getService("svc-7")).toBeUndefined();
    expect(await code(() => mgr.addService({ serviceId: "svc-one", csId: 1 }))).toBe("accepted");
    store.addService({ serviceId: "svc-stored", csbId: 5, csId: 7, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand: new Uint8Array(16).fill(1) });
    expect(await code(() => mgr.addService({ serviceId: "svc-stored" }))).toBe("ERR_ARGUMENT");
    await mgr.stop();
  });

  it("stores the service's TEK scheme and resumes it only with the same derivation and MKI layout (else the same MKI would name another TEK)", async () => {
    const store = new MemoryKeyStore();
    const clock = new ManualClock();
    const first = new SessionManager({ store, clock, derivation: "alt2", layout: { tgkIdBytes: 2, randBytes: 14 } });
    await first.addService({ serviceId: "svc", tekRand2PeriodMs: PERIOD, tgkLifetimeMs: LIFE });
    expect(store.getService("svc")!.tekScheme).toBe("alt2 2+14");
    for (const other of [{}, { derivation: "alt1" as const, layout: { tgkIdBytes: 2, randBytes: 14 } }, { derivation: "alt2" as const }]) {
      const again = new SessionManager({ store, clock, ...other });
      await expect(again.addService({ serviceId: "svc" }), JSON.stringify(other)).rejects.toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
      expect(again.hasService("svc")).toBe(false);
    }
    await new SessionManager({ store, clock, derivation: "alt2", layout: { tgkIdBytes: 2, randBytes: 14 } }).addService({ serviceId: "svc" });
    // A service stored without a scheme (before schema v3) cannot be checked: resumed as configured.
    store.addService({ serviceId: "legacy", csbId: 5, csId: 1, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand: new Uint8Array(16).fill(1) });
    await expect(new SessionManager({ store, clock, derivation: "alt2" }).addService({ serviceId: "legacy" })).resolves.toBeUndefined();
  });

  it("makes TGKs of the configured length, independent of the profile, and keeps a stored service's length", async () => {
    const store = new MemoryKeyStore();
    const clock = new ManualClock();
    const teks: TekEvent[] = [];
    const mgr = new SessionManager({ store, clock, onTek: (e) => void teks.push({ ...e, masterKey: e.masterKey.slice() }) });
    await mgr.addService({ serviceId: "long-tgk", tgkLength: 32, tekRand2PeriodMs: PERIOD, tgkLifetimeMs: LIFE });
    await mgr.start();
    expect(store.listTgks("long-tgk").map((t) => t.tgk.length)).toEqual([32]);
    expect(teks.at(-1)!.masterKey.length).toBe(16); // AES-128 profile: 16-byte TEK from a 32-byte TGK
    await mgr.stop();
    const again = new SessionManager({ store, clock });
    await expect(again.addService({ serviceId: "long-tgk", tgkLength: 16 })).rejects.toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    await expect(again.addService({ serviceId: "other", tgkLength: 24 as 16 })).rejects.toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    await again.addService({ serviceId: "long-tgk", tgkLength: 32 });
    await again.stop();
  });

  it("puts no key bytes in thrown errors or log lines", async () => {
    const { clock, mgr, store, teks } = await rig();
    const kek = kekOf(0x5a);
    remember(kek);
    await mgr.addUser("dave", kek);
    await mgr.start();
    await clock.advanceSettled(2 * PERIOD);
    for (const t of store.listTgks("svc-1")) remember(t.tgk);
    remember(store.getService("svc-1")!.tekRand, store.getTekRand2("svc-1")!.current);
    for (const t of teks) remember(t.mki.subarray(4));
    const errors: unknown[] = [];
    const attempt = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    await attempt(() => mgr.keyResponse("nobody", "svc-1"));
    await attempt(() => mgr.keyResponse("dave", "no-such-service"));
    await attempt(() => mgr.addUser("dave", kek));
    await attempt(() => mgr.addUser("eve", new Uint8Array(15).fill(0x5a)));
    await attempt(() => mgr.addService({ serviceId: "svc-1", tgkLifetimeMs: LIFE, tekRand2PeriodMs: PERIOD, nextTgkLeadMs: LEAD }));
    await attempt(() => SessionManager.create({ store, clock, logger: () => {}, services: [{ serviceId: "svc-1", csbId: 1 }] }));
    await attempt(() => mgr.addService({ serviceId: "svc-2", tgkLifetimeMs: 10, nextTgkLeadMs: 10 }));
    store.close(); // the schedule's next step fails: logged, counted, retried, no crash
    await clock.advanceSettled(PERIOD);
    expect(mgr.scheduleFailures).toBeGreaterThan(0);
    await attempt(() => mgr.keyResponse("dave", "svc-1"));
    await mgr.stop();
    expect(errors.length).toBe(8);
    for (const e of errors) {
      expect(e).toBeInstanceOf(MbmsError);
      const text = `${(e as Error).message} ${(e as Error).stack ?? ""}`.toLowerCase();
      for (const s of secrets) expect(text).not.toContain(s);
    }
    expect(lines.some((l) => l.includes("schedule step failed"))).toBe(true);
    expect(lines.some((l) => l.includes("TEK_RAND2 rotated"))).toBe(true);
  });
});
