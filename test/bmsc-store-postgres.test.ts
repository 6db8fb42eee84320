// What only the PostgreSQL key store can show (the behaviour every backend shares is in bmsc-store.test.ts):
// BM-SC instances in separate processes, each with its own pool, racing on the calls the contract makes
// race-safe; eight instances creating the schema of an empty database at once; a schema of another version
// refused; connections dropped under a call and the server gone; no driver error and no key byte in any
// error. The timings against SQLite are printed, not asserted.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MbmsError } from "../src/mbms/errors.js";
import {
  POSTGRES_SCHEMA_VERSION, SqliteKeyStore, asyncStore, openPostgresKeyStore, type AsyncKeyStore,
} from "../src/mbms/bmsc/store/index.js";
import { LOCK_NAMESPACE } from "../src/mbms/bmsc/store/postgres-schema.js";
import { startCluster, stopCluster } from "../scripts/pg-test-cluster.mjs";
import { requireDist } from "./helpers/bmsc-process.js";
import { testPostgres, type TestPostgres } from "./helpers/postgres.js";
import { killChildren, start } from "./helpers/processes.js";
import { asyncCodeOf, errorOf, hex, rnd, service } from "./helpers/store-fixtures.js";

const CHILD = new URL("./helpers/pg-store-child.mjs", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "bmsc-store-pg-"));
let pgt: TestPostgres;
beforeAll(async () => {
  requireDist();
  pgt = await testPostgres();
}, 120_000);
afterAll(async () => {
  killChildren();
  rmSync(dir, { recursive: true, force: true });
  await pgt?.stop();
});

const open = (schema = pgt.schema()) => openPostgresKeyStore(pgt.url, { schema });

interface ChildRun<T> {
  results: T[];
  t0: number;
  t1: number;
}

let goFiles = 0;
/** Runs one job per child process at once (each child: its own store and pool), released together. */
async function race<T>(jobs: Record<string, unknown>[]): Promise<ChildRun<T>[]> {
  const goFile = join(dir, `go-${goFiles++}`);
  const procs = jobs.map((job) => start(process.execPath, [CHILD, JSON.stringify({ url: pgt.url, goFile, inFlight: 4, ...job })], 60_000));
  const ready = await Promise.all(procs.map((p) => p.line(/^ready$/)));
  writeFileSync(goFile, "");
  const exits = await Promise.all(procs.map((p) => p.done));
  for (const [i, e] of exits.entries()) expect({ ready: ready[i], code: e.code, stderr: e.stderr }).toEqual({ ready: "ready", code: 0, stderr: "" });
  return exits.map((e) => JSON.parse(e.stdout.trim().split("\n").at(-1)!) as ChildRun<T>);
}

/** Both runs were under way at the same time: the race was real. */
const overlapped = (a: ChildRun<unknown>, b: ChildRun<unknown>) => a.t0 < b.t1 && b.t0 < a.t1;

/** The error names no key: neither in hex nor in base64, neither in its message nor its stack; no driver fields. */
function expectNoKeys(err: unknown, keys: Uint8Array[]): void {
  expect(err).toBeInstanceOf(MbmsError);
  const e = err as MbmsError & Record<string, unknown>;
  const text = `${e.message}\n${String(e.stack)}`;
  for (const k of keys) {
    expect(text).not.toContain(hex(k));
    expect(text).not.toContain(Buffer.from(k).toString("base64"));
  }
  for (const driverField of ["detail", "severity", "query", "where", "cause"]) expect(e[driverField]).toBeUndefined();
}

describe("PostgresKeyStore: instances in two processes racing on one database", () => {
  it("hands out 1,000 distinct TGK-IDs from 1,000 allocateTgkId calls split across them", async () => {
    const schema = pgt.schema();
    const s = await open(schema);
    await s.addService(service("tv"));
    const [a, b] = await race<number>([0, 1].map(() => ({ schema, op: "allocate", serviceId: "tv", n: 500 })));
    expect(overlapped(a!, b!)).toBe(true);
    const ids = [...a!.results, ...b!.results].sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect((await s.getService("tv"))!.nextTgkId).toBe(1001);
    await s.close();
  });

  it("rotateTekRand2 for the same period: exactly one applied, and the other reads the winner's value", async () => {
    const schema = pgt.schema();
    const s = await open(schema);
    await s.addService(service("tv"));
    const periods = Array.from({ length: 100 }, (_, i) => 600_000 * (i + 1));
    const offered = [0, 1].map(() => periods.map(() => hex(rnd(8))));
    // Each instance rotates once per period, in order (as a BM-SC does); the two race each other.
    const runs = await race<{ applied: boolean; current: string; currentStart: number }>(
      offered.map((values) => ({ schema, op: "rotate", serviceId: "tv", periods, values, inFlight: 1 })),
    );
    expect(overlapped(runs[0]!, runs[1]!)).toBe(true);
    let contended = 0;
    for (const [i, startsAt] of periods.entries()) {
      const [ra, rb] = runs.map((r) => r.results[i]!);
      expect([ra!.applied, rb!.applied].filter(Boolean)).toHaveLength(1);
      const winner = ra!.applied ? 0 : 1;
      const loser = runs[1 - winner]!.results[i]!;
      expect(runs[winner]!.results[i]).toEqual({ applied: true, current: offered[winner]![i], currentStart: startsAt });
      // The loser reads the state after the winner: this period's winner, or a later period's if that came first.
      expect(loser.currentStart).toBeGreaterThanOrEqual(startsAt);
      if (loser.currentStart === startsAt) {
        expect(loser.current).toBe(offered[winner]![i]);
        contended++;
      }
    }
    expect(contended).toBeGreaterThan(0);
    const last = runs.findIndex((r) => r.results.at(-1)!.applied);
    expect(hex((await s.getTekRand2("tv"))!.current)).toBe(offered[last]!.at(-1));
    await s.close();
  });

  it("rememberNonce with the same nonces from both: each recorded exactly once", async () => {
    const schema = pgt.schema();
    const nonces = Array.from({ length: 300 }, () => hex(rnd(16)));
    const job = { schema, op: "nonce", userId: "alice", nonces, expiresAt: 2 ** 50, now: 1000 };
    const [a, b] = await race<boolean>([job, job]);
    expect(overlapped(a!, b!)).toBe(true);
    expect(nonces.map((_, i) => Number(a!.results[i]) + Number(b!.results[i]))).toEqual(nonces.map(() => 1));
    const s = await open(schema);
    expect(await s.countNonces("alice")).toBe(300);
    await s.close();
  });

  it("the per-user cap holds across instances: 200 distinct nonces from two, cap 25 → 25 recorded", async () => {
    const schema = pgt.schema();
    const jobs = [0, 1].map(() => ({
      schema, op: "nonce", userId: "bob", nonces: Array.from({ length: 100 }, () => hex(rnd(16))), expiresAt: 2 ** 50, now: 1000, maxPerUser: 25,
    }));
    const [a, b] = await race<boolean>(jobs);
    expect(overlapped(a!, b!)).toBe(true);
    expect([...a!.results, ...b!.results].filter(Boolean)).toHaveLength(25);
    const s = await open(schema);
    expect(await s.countNonces("bob")).toBe(25);
    await s.close();
  });
});

describe("PostgresKeyStore: concurrent calls of one store, batched into one statement (coalescer.ts)", () => {
  it("rememberNonce: 300 at once (100 nonces, each three times) → each recorded exactly once; one user's 200 at once, cap 25 → 25", async () => {
    const s = await openPostgresKeyStore(pgt.url, { schema: pgt.schema(), batchesInFlight: 1, maxBatch: 64 });
    try {
      const nonces = Array.from({ length: 100 }, () => rnd(16));
      const calls = [0, 1, 2].flatMap(() => nonces.map((n, i) => ({ user: `u${i % 7}`, n })));
      const results = await Promise.all(calls.map((c) => s.rememberNonce(c.user, c.n, 2 ** 50, 1000)));
      const recorded = nonces.map((_, i) => [0, 1, 2].filter((t) => results[t * 100 + i]!.recorded).length);
      expect(recorded).toEqual(nonces.map(() => 1));
      expect(results.slice(0, 100).every((r) => r.recorded)).toBe(true); // batch order is call order
      expect(results.slice(100).every((r) => !r.recorded && r.reason === "replayed")).toBe(true);
      const capped = await Promise.all(Array.from({ length: 200 }, (_, i) => s.rememberNonce("bob", rnd(16), 5000 + i, 1000, 25)));
      expect(capped.filter((r) => r.recorded)).toHaveLength(25);
      expect(capped.filter((r) => !r.recorded)).toEqual(Array.from({ length: 175 }, () => ({ recorded: false, reason: "full", retryAt: 5000 })));
      expect(await s.countNonces("bob")).toBe(25);
    } finally {
      await s.close();
    }
  });

  it("readKeyRequest: 200 at once answer what each alone answers; an unreachable server fails every call of the batch with ERR_STORE", async () => {
    const s = await openPostgresKeyStore(pgt.url, { schema: pgt.schema(), batchesInFlight: 2, maxBatch: 50 });
    try {
      await s.addService(service("tv"));
      await s.addUsers(Array.from({ length: 100 }, (_, i) => ({ userId: `u${i}`, kek: rnd(16), services: i % 3 ? ["tv"] : [] })));
      for (let id = 1; id <= 3; id++) await s.addTgk({ serviceId: "tv", tgkId: id, tgk: rnd(16), validFrom: 0, expiresAt: 1000 * id });
      const asked = Array.from({ length: 200 }, (_, i) => [`u${i % 150}`, i % 4 ? "tv" : "radio"] as const);
      const together = await Promise.all(asked.map(([u, svc]) => s.readKeyRequest(u, svc)));
      for (const [i, [u, svc]] of asked.entries()) expect(together[i], `${u}/${svc}`).toEqual(await s.readKeyRequest(u, svc));
      expect(together.filter((r) => r.user && r.subscribed && r.tgks.length === 3).length).toBeGreaterThan(50);
      expect(await asyncCodeOf(() => openPostgresKeyStore(pgt.url, { batchesInFlight: 0 }))).toBe("ERR_ARGUMENT");
    } finally {
      await s.close();
    }
    const failed = await Promise.allSettled([1, 2, 3].map(() => s.readKeyRequest("u1", "tv")));
    expect(failed.map((r) => r.status === "rejected" && (r.reason as MbmsError).code)).toEqual(["ERR_STORE", "ERR_STORE", "ERR_STORE"]);
  });
});

describe("PostgresKeyStore: the schema", () => {
  it("8 instances opening an empty database at once: no failure, one schema, all of them working", async () => {
    const url = await pgt.database();
    const opened = await Promise.allSettled(Array.from({ length: 8 }, () => openPostgresKeyStore(url)));
    expect(opened.filter((r) => r.status === "rejected")).toEqual([]);
    const stores = opened.map((r) => (r as PromiseFulfilledResult<AsyncKeyStore>).value);
    await Promise.all(stores.map((s, i) => s.addUser({ userId: `user-${i}`, kek: rnd(16) })));
    expect(await stores[3]!.listUserIds()).toEqual(Array.from({ length: 8 }, (_, i) => `user-${i}`));
    await Promise.all(stores.map((s) => s.close()));
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    try {
      expect((await check.query("SELECT version FROM schema_version")).rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
      const tables = (await check.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).rows.map((r) => r.tablename);
      expect(tables).toEqual(["leases", "nonces", "schema_version", "services", "stream_positions", "subscriptions", "tek_rand2", "tgks", "users"]);
    } finally {
      await check.end();
    }
  });

  it("migrates a schema of version 1 (leases, remember_nonces and stream_positions added), 2 and 3, the rest kept", async () => {
    const steps = [
      [1, "DROP TABLE %.stream_positions; DROP TABLE %.leases; DROP FUNCTION %.remember_nonces"],
      [2, "DROP TABLE %.stream_positions; DROP FUNCTION %.remember_nonces"],
      [3, "DROP TABLE %.stream_positions"],
    ] as const;
    for (const [from, drop] of steps) {
      const schema = pgt.schema();
      const a = await open(schema);
      await a.addService(service("news"));
      await a.close();
      await pgt.admin(`${drop.replaceAll("%", schema)}; UPDATE ${schema}.schema_version SET version = ${from}`);
      const b = await open(schema);
      try {
        expect((await b.getService("news"))!.csbId).toBe(service("news").csbId);
        expect((await b.acquireLease("schedule/news", "a", 3000, 1000)).acquired).toBe(true);
        expect(await b.rememberNonce("u", new Uint8Array(16), 2000, 1000)).toEqual({ recorded: true });
        await b.putStreamPosition("news", 0x1234, 2, 10_000, 1000);
        expect(await b.listStreamPositions("news", 1000)).toEqual([{ ssrc: 0x1234, roc: 2 }]);
      } finally {
        await b.close();
      }
      expect((await pgt.admin(`SELECT version FROM ${schema}.schema_version`)).rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
    }
  });

  it("refuses a schema of another version (a newer build's, or an unknown one) with ERR_STORE, and a bad schema name", async () => {
    const schema = pgt.schema();
    await (await open(schema)).close();
    expect(POSTGRES_SCHEMA_VERSION).toBe(4);
    for (const version of [POSTGRES_SCHEMA_VERSION + 1, 0]) {
      await pgt.admin(`UPDATE ${schema}.schema_version SET version = $1`, [version]);
      const err = await errorOf(() => open(schema));
      expect((err as MbmsError).code).toBe("ERR_STORE");
      expect((err as MbmsError).message).toContain(`schema version ${version} `);
    }
    await pgt.admin(`UPDATE ${schema}.schema_version SET version = $1`, [POSTGRES_SCHEMA_VERSION]);
    await (await open(schema)).close();
    expect(await asyncCodeOf(() => open("Robert'); DROP TABLE users; --"))).toBe("ERR_ARGUMENT");
  });
});

describe("PostgresKeyStore: failures", () => {
  it("a connection terminated under a call is ERR_STORE with no driver error; the next call reconnects", async () => {
    const s = await open();
    const nonce = rnd(16);
    await s.addUser({ userId: "alice", kek: rnd(16) });
    // Hold alice's nonce lock from another session, so that the store's call waits on it, then kill its backend.
    const blocker = new pg.Client({ connectionString: pgt.url });
    await blocker.connect();
    try {
      await blocker.query("SELECT pg_advisory_lock($1, hashtext('alice'))", [LOCK_NAMESPACE]);
      const call = errorOf(() => s.rememberNonce("alice", nonce, 2 ** 50, 1000));
      let waiting: number[] = [];
      while (waiting.length === 0) {
        await sleep(5);
        waiting = (await pgt.admin("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows.map((r) => r.pid);
      }
      expect((await pgt.admin("SELECT pg_terminate_backend($1) AS t", [waiting[0]])).rows).toEqual([{ t: true }]);
      const err = await call;
      expect((err as MbmsError).code).toBe("ERR_STORE");
      expect((err as MbmsError).message).toBe("ERR_STORE: recording a nonce failed (SQLSTATE 57P01)");
      expectNoKeys(err, [nonce]);
    } finally {
      await blocker.end();
    }
    expect(await s.rememberNonce("alice", nonce, 2 ** 50, 1000)).toEqual({ recorded: true }); // nothing was recorded before
    expect(await s.getUser("alice")).toBeDefined();
    await s.close();
  });

  it("the server gone (stopped, its socket deleted): every call is ERR_STORE, close still works", async () => {
    const cluster = startCluster();
    let stopped = false;
    try {
      const s = await openPostgresKeyStore({ connectionString: cluster.url, connectionTimeoutMillis: 5000 });
      const kek = rnd(32);
      await s.addUser({ userId: "alice", kek });
      stopCluster(cluster.dir);
      stopped = true;
      expect(existsSync(cluster.dir)).toBe(false);
      for (const call of [() => s.getUser("alice"), () => s.addUser({ userId: "bob", kek }), () => s.rememberNonce("alice", kek, 2 ** 50)]) {
        const err = await errorOf(call);
        expect((err as MbmsError).code).toBe("ERR_STORE");
        expectNoKeys(err, [kek]);
      }
      await s.close();
      expect(await asyncCodeOf(() => s.getUser("alice"))).toBe("ERR_STORE");
    } finally {
      if (!stopped) stopCluster(cluster.dir);
    }
  }, 60_000);

  it("a constraint violation whose driver detail quotes the row's key bytes: ERR_STORE naming only the SQLSTATE", async () => {
    const schema = pgt.schema();
    const s = await open(schema);
    await s.addService(service("tv"));
    // Constraints the store does not know about, so that PostgreSQL itself refuses the rows (23514, with
    // "Failing row contains (…, \x<key>, …)" in the error's detail).
    await pgt.admin(`ALTER TABLE ${schema}.users ADD CONSTRAINT no_mallory CHECK (user_id <> 'mallory')`);
    await pgt.admin(`ALTER TABLE ${schema}.tgks ADD CONSTRAINT no_666 CHECK (tgk_id <> 666)`);
    await pgt.admin(`ALTER TABLE ${schema}.nonces ADD CONSTRAINT no_far CHECK (expires_at < 1000000)`);
    const [kek, tgk, nonce, tekRand] = [rnd(16), rnd(32), rnd(16), rnd(16)];
    const failures = [
      () => s.addUser({ userId: "mallory", kek }),
      () => s.updateUsers([{ userId: "nobody", kek }]),
      () => s.addTgk({ serviceId: "tv", tgkId: 666, tgk, validFrom: 0, expiresAt: 10 }),
      () => s.rememberNonce("carol", nonce, 2_000_000, 0),
      () => s.addService(service("tv", { tekRand })),
    ];
    const errors = [];
    for (const f of failures) errors.push(await errorOf(f));
    expect(errors.map((e) => (e as MbmsError).code)).toEqual(["ERR_STORE", "ERR_NOT_FOUND", "ERR_STORE", "ERR_STORE", "ERR_DUPLICATE"]);
    expect((errors[0] as MbmsError).message).toBe("ERR_STORE: adding users failed (SQLSTATE 23514)");
    for (const e of errors) expectNoKeys(e, [kek, tgk, nonce, tekRand]);
    await s.close();
  });
});

describe("PostgresKeyStore: timings against SQLite (printed, not asserted)", () => {
  it("10,000 rememberNonce, and 1,000 getUser + isSubscribed pairs, one call at a time", async () => {
    const pgStore = await open();
    const sqlite = asyncStore(new SqliteKeyStore(join(dir, "timing.db")));
    const figures: string[] = [];
    for (const [name, s] of [["postgres", pgStore], ["sqlite (synchronous=full)", sqlite]] as const) {
      await s.addService(service("tv"));
      await s.addUsers(Array.from({ length: 1000 }, (_, i) => ({ userId: `sip:user${i}@ims.example.org`, kek: rnd(16), services: i % 2 ? ["tv"] : [] })));
      let t = performance.now();
      let recorded = 0;
      for (let i = 0; i < 10_000; i++) if ((await s.rememberNonce(`sip:user${i % 1000}@ims.example.org`, rnd(16), 60_000 + i, i, 64)).recorded) recorded++;
      const nonceMs = performance.now() - t;
      t = performance.now();
      let subscribed = 0;
      for (let i = 0; i < 1000; i++) {
        const id = `sip:user${i}@ims.example.org`;
        if ((await s.getUser(id)) && (await s.isSubscribed(id, "tv"))) subscribed++;
      }
      const readMs = performance.now() - t;
      expect([recorded, subscribed]).toEqual([10_000, 500]);
      figures.push(`${name}: 10,000 rememberNonce ${nonceMs.toFixed(0)} ms (${(nonceMs / 10).toFixed(0)} µs each); ` +
        `1,000 getUser+isSubscribed ${readMs.toFixed(0)} ms (${readMs.toFixed(0)} µs a pair)`);
      await s.close();
    }
    console.log(figures.join("\n"));
  }, 120_000);
});
