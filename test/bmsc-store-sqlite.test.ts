// What only the SQLite key store's file can show (the behaviour every backend shares is in
// bmsc-store.test.ts): persistence across close/reopen, a second connection on the same file (several BM-SC
// instances), schema versioning and migrations, no raw SqliteError escaping. The 100k-user insert and the
// reopen time are measured and printed, not asserted.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryKeyStore, SQLITE_SCHEMA_VERSION, SqliteKeyStore, type KeyStore } from "../src/mbms/bmsc/store/index.js";
import { bytes, codeOf, rnd, service } from "./helpers/store-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "bmsc-store-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const newFile = () => join(dir, `store-${fileNo++}.db`);

/** Everything a store holds, for comparing two stores. */
function snapshot(s: KeyStore) {
  const users = s.listUserIds().map((id) => s.getUser(id));
  const services = s.listServiceIds().map((id) => ({
    service: s.getService(id), tgks: s.listTgks(id), rand2: s.getTekRand2(id),
  }));
  return { users, services };
}

function fill(s: KeyStore): void {
  s.addUsers(Array.from({ length: 50 }, (_, i) => ({ userId: `user-${i}`, kek: rnd(i % 2 ? 32 : 16), createdAt: 1_700_000_000_000 + i })));
  s.setUserDisabled("user-7", true);
  for (const id of ["news", "sport"]) {
    s.addService(service(id, { tekRand: rnd(16), csbId: id.length }));
    for (let i = 0; i < 3; i++) {
      const tgkId = s.allocateTgkId(id);
      s.addTgk({ serviceId: id, tgkId, tgk: rnd(16), validFrom: 1000 * i, expiresAt: 1000 * i + 5000 });
    }
    s.rotateTekRand2(id, rnd(8), 600_000);
    s.rotateTekRand2(id, rnd(8), 1_200_000);
  }
}

describe("SqliteKeyStore on disk", () => {
  it("persists users, services, TGKs, TGK-ID counters and TEK_RAND2 state across close and reopen", () => {
    const file = newFile();
    const a = new SqliteKeyStore(file);
    fill(a);
    a.rememberNonce("user-1", bytes(16, 1), 2 ** 50, 0);
    a.updateUsers([{ userId: "user-2", services: ["news"] }]);
    const before = snapshot(a);
    a.close();
    const b = new SqliteKeyStore(file);
    try {
      expect(snapshot(b)).toEqual(before);
      expect(b.allocateTgkId("news")).toBe(4); // the counter survived
      expect(b.rememberNonce("user-1", bytes(16, 1), 2 ** 50, 1).recorded).toBe(false); // so did the replay cache
      expect(b.listSubscriptions("user-2")).toEqual(["news"]);
      // and the state is what a MemoryKeyStore given the same calls holds (modulo random bytes)
      const m = new MemoryKeyStore();
      fill(m);
      const shape = (x: ReturnType<typeof snapshot>) => JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? v.length : v));
      expect(shape(snapshot(m))).toBe(shape(before));
      m.close();
    } finally {
      b.close();
    }
  });

  it("uses WAL and a schema version table, in a file only its owner can read", () => {
    const file = newFile();
    const s = new SqliteKeyStore(file);
    s.addUser({ userId: "u", kek: rnd(16) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    s.close();
    const raw = new Database(file);
    try {
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(raw.prepare("SELECT version FROM schema_version").pluck().get()).toBe(SQLITE_SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  it("a second connection on the same file sees committed data (several BM-SC instances)", () => {
    const file = newFile();
    const a = new SqliteKeyStore(file);
    const b = new SqliteKeyStore(file);
    try {
      a.addService(service("tv"));
      const kek = rnd(16);
      a.addUser({ userId: "alice", kek });
      expect(b.getUser("alice")!.kek).toEqual(kek);
      expect(codeOf(() => b.addUser({ userId: "alice", kek: rnd(16) }))).toBe("ERR_DUPLICATE");
      // TGK-IDs handed out alternately by both instances never collide
      const ids = Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).allocateTgkId("tv"));
      expect(new Set(ids).size).toBe(10);
      // the TEK_RAND2 race for one period: one instance wins, the other adopts its value
      const [ra, rb] = [rnd(8), rnd(8)];
      const wa = a.rotateTekRand2("tv", ra, 600_000);
      const wb = b.rotateTekRand2("tv", rb, 600_000);
      expect([wa.applied, wb.applied]).toEqual([true, false]);
      expect(wb.state.current).toEqual(ra);
      // a replayed nonce is caught whichever instance sees it
      expect(a.rememberNonce("alice", bytes(8, 3), 10_000, 0).recorded).toBe(true);
      expect(b.rememberNonce("alice", bytes(8, 3), 10_000, 0).recorded).toBe(false);
      b.removeUser("alice");
      expect(a.getUser("alice")).toBeUndefined();
    } finally {
      a.close();
      b.close();
    }
  });

  it("migrates a version-1 file: its users keep every service's keys (subscribed to all its services), nothing else changes", () => {
    const file = newFile();
    const a = new SqliteKeyStore(file);
    fill(a);
    const before = snapshot(a);
    a.close();
    // Back to what a v1 build wrote: no subscriptions table, no TEK scheme, version 1.
    const raw = new Database(file);
    raw.exec("DROP TABLE stream_positions; DROP TABLE subscriptions; DROP TABLE leases; ALTER TABLE services DROP COLUMN tek_scheme; UPDATE schema_version SET version = 1");
    raw.close();
    const b = new SqliteKeyStore(file);
    try {
      expect(snapshot(b)).toEqual(before);
      expect(b.listSubscriptions("user-0")).toEqual(["news", "sport"]);
      expect(b.isSubscribed("user-7", "sport")).toBe(true);
    } finally {
      b.close();
    }
    const check = new Database(file);
    expect(check.prepare("SELECT version FROM schema_version").pluck().get()).toBe(SQLITE_SCHEMA_VERSION);
    expect(check.prepare("SELECT count(*) FROM subscriptions").pluck().get()).toBe(100);
    check.close();
  });

  it("migrates a version-2 file: its services have no TEK scheme (not checked on resume), new ones get theirs", () => {
    const file = newFile();
    const a = new SqliteKeyStore(file);
    a.addService(service("news", { tekScheme: "alt1 4+8" }));
    a.close();
    const raw = new Database(file);
    raw.exec("DROP TABLE stream_positions; DROP TABLE leases; ALTER TABLE services DROP COLUMN tek_scheme; UPDATE schema_version SET version = 2");
    raw.close();
    const b = new SqliteKeyStore(file);
    try {
      expect(b.getService("news")!.tekScheme).toBeUndefined();
      b.addService(service("sport", { tekScheme: "alt2 4+8" }));
      expect(b.getService("sport")!.tekScheme).toBe("alt2 4+8");
    } finally {
      b.close();
    }
  });

  it("migrates a version-3 file: the leases table is added, the rest kept", () => {
    const file = newFile();
    const a = new SqliteKeyStore(file);
    a.addService(service("news", { tekScheme: "alt1 4+8" }));
    a.close();
    const raw = new Database(file);
    raw.exec("DROP TABLE stream_positions; DROP TABLE leases; UPDATE schema_version SET version = 3");
    raw.close();
    const b = new SqliteKeyStore(file);
    try {
      expect(b.getService("news")!.tekScheme).toBe("alt1 4+8");
      expect(b.acquireLease("schedule/news", "a", 3000, 1000)).toEqual({ name: "schedule/news", owner: "a", expiresAt: 4000, acquired: true });
    } finally {
      b.close();
    }
    const check = new Database(file);
    expect(check.prepare("SELECT version FROM schema_version").pluck().get()).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
  });

  it("migrates a version-4 file: the stream_positions table is added, the leases kept", () => {
    const file = newFile();
    const a = new SqliteKeyStore(file);
    a.addService(service("news"));
    a.acquireLease("schedule/news", "a", 3000, 1000);
    a.close();
    const raw = new Database(file);
    raw.exec("DROP TABLE stream_positions; UPDATE schema_version SET version = 4");
    raw.close();
    const b = new SqliteKeyStore(file);
    try {
      expect(b.acquireLease("schedule/news", "b", 3000, 2000)).toMatchObject({ owner: "a", acquired: false });
      b.putStreamPosition("news", 0x1234, 2, 10_000, 2000);
      expect(b.listStreamPositions("news", 2000)).toEqual([{ ssrc: 0x1234, roc: 2 }]);
    } finally {
      b.close();
    }
    const check = new Database(file);
    expect(check.prepare("SELECT version FROM schema_version").pluck().get()).toBe(5);
    check.close();
  });

  it("maps open failures and foreign schemas to ERR_STORE, never a raw SqliteError", () => {
    expect(codeOf(() => new SqliteKeyStore(join(dir, "no-such-dir", "x.db")))).toBe("ERR_STORE");
    const junk = newFile();
    writeFileSync(junk, Buffer.alloc(4096, 0x41));
    expect(codeOf(() => new SqliteKeyStore(junk))).toBe("ERR_STORE");
    const newer = newFile();
    new SqliteKeyStore(newer).close();
    const raw = new Database(newer);
    raw.prepare("UPDATE schema_version SET version = 99").run();
    raw.close();
    expect(codeOf(() => new SqliteKeyStore(newer))).toBe("ERR_STORE");
    expect(codeOf(() => new SqliteKeyStore(""))).toBe("ERR_ARGUMENT");
  });

  it("a write blocked by another connection's transaction is ERR_STORE after the busy timeout", () => {
    const file = newFile();
    const s = new SqliteKeyStore(file, { busyTimeoutMs: 50 });
    const raw = new Database(file);
    try {
      raw.prepare("BEGIN IMMEDIATE").run();
      expect(codeOf(() => s.addUser({ userId: "x", kek: rnd(16) }))).toBe("ERR_STORE");
      raw.prepare("ROLLBACK").run();
      s.addUser({ userId: "x", kek: rnd(16) });
    } finally {
      raw.close();
      s.close();
    }
  });

  it("measures: 100k users in one transaction, and reopening (printed, not asserted)", () => {
    const N = 100_000;
    const users = Array.from({ length: N }, (_, i) => ({ userId: `sip:user${i}@ims.example.org`, kek: rnd(16), createdAt: i }));
    const figures: string[] = [];
    for (const synchronous of ["full", "normal"] as const) {
      const file = newFile();
      const s = new SqliteKeyStore(file, { synchronous });
      let t = performance.now();
      s.addUsers(users);
      const insertMs = performance.now() - t;
      s.close();
      t = performance.now();
      const r = new SqliteKeyStore(file);
      const openMs = performance.now() - t;
      t = performance.now();
      const u = r.getUser("sip:user99999@ims.example.org");
      const firstReadMs = performance.now() - t;
      t = performance.now();
      const ids = r.listUserIds();
      const listMs = performance.now() - t;
      r.close();
      expect(u!.kek).toEqual(users[N - 1]!.kek);
      expect(ids.length).toBe(N);
      figures.push(
        `sqlite synchronous=${synchronous}: insert ${N} users in ${insertMs.toFixed(0)} ms = ${Math.round(N / (insertMs / 1000))} users/s; ` +
          `reopen ${openMs.toFixed(1)} ms, first getUser ${firstReadMs.toFixed(2)} ms, listUserIds(all) ${listMs.toFixed(0)} ms`,
      );
    }
    const m = new MemoryKeyStore();
    let t = performance.now();
    m.addUsers(users);
    const memMs = performance.now() - t;
    m.close();
    figures.push(`memory: insert ${N} users in ${memMs.toFixed(0)} ms = ${Math.round(N / (memMs / 1000))} users/s`);
    const s = new SqliteKeyStore(newFile());
    t = performance.now();
    for (let i = 0; i < 1000; i++) s.addUser(users[i]!);
    const oneByOne = performance.now() - t;
    s.close();
    figures.push(`sqlite synchronous=full: 1000 single-user transactions in ${oneByOne.toFixed(0)} ms = ${Math.round(1000 / (oneByOne / 1000))} users/s`);
    console.log(figures.join("\n"));
  });
});
