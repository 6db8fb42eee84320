// The BM-SC key store (src/mbms/bmsc/store): one behaviour suite, several backends — MemoryKeyStore and
// SqliteKeyStore through asyncStore, and PostgresKeyStore — all through the AsyncKeyStore interface the
// session manager and key server call (every call awaited; a failure is a rejection with a typed code).
// What only one backend can show is in bmsc-store-sqlite.test.ts and bmsc-store-postgres.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MbmsError } from "../src/mbms/errors.js";
import {
  MemoryKeyStore, SqliteKeyStore, asyncStore, openPostgresKeyStore, type AsyncKeyStore,
} from "../src/mbms/bmsc/store/index.js";
import { testPostgres, type TestPostgres } from "./helpers/postgres.js";
import { asyncCodeOf, bytes, errorOf, hex, rnd, service } from "./helpers/store-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "bmsc-store-"));
let postgres: TestPostgres | undefined;
beforeAll(async () => {
  postgres = await testPostgres();
}, 120_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await postgres?.stop();
});
let fileNo = 0;

const backends: [string, () => Promise<AsyncKeyStore>][] = [
  ["MemoryKeyStore", async () => asyncStore(new MemoryKeyStore())],
  ["SqliteKeyStore", async () => asyncStore(new SqliteKeyStore(join(dir, `store-${fileNo++}.db`)))],
  ["PostgresKeyStore", () => openPostgresKeyStore(postgres!.url, { schema: postgres!.schema() })],
];

describe.each(backends)("%s", (_name, open) => {
  const opened: AsyncKeyStore[] = [];
  const store = async () => {
    const s = await open();
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  describe("users", () => {
    it("adds, reads, lists, disables and removes users", async () => {
      const s = await store();
      const kek = rnd(16);
      await s.addUser({ userId: "alice", kek, createdAt: 1000 });
      await s.addUser({ userId: "bob", kek: rnd(32), disabled: true });
      expect(await s.getUser("alice")).toEqual({ userId: "alice", kek, createdAt: 1000, disabled: false });
      const bob = (await s.getUser("bob"))!;
      expect(bob.kek.length).toBe(32);
      expect(bob.disabled).toBe(true);
      expect(Math.abs(bob.createdAt - Date.now())).toBeLessThan(60_000);
      expect(await s.getUser("carol")).toBeUndefined();
      expect(await s.listUserIds()).toEqual(["alice", "bob"]);
      await s.setUserDisabled("bob", false);
      expect((await s.getUser("bob"))!.disabled).toBe(false);
      expect(await asyncCodeOf(() => s.setUserDisabled("carol", true))).toBe("ERR_NOT_FOUND");
      expect(await s.removeUser("alice")).toBe(true);
      expect(await s.removeUser("alice")).toBe(false);
      expect(await s.getUser("alice")).toBeUndefined();
      expect(await s.listUserIds()).toEqual(["bob"]);
    });

    it("copies bytes in and out, and returns plain Uint8Arrays", async () => {
      const s = await store();
      const kek = bytes(16, 7);
      const backing = new Uint8Array(64).fill(9);
      backing.set(kek, 5);
      await s.addUser({ userId: "u", kek: backing.subarray(5, 21) });
      backing.fill(0);
      const out = (await s.getUser("u"))!.kek;
      expect(out).toEqual(kek);
      expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
      out.fill(0);
      expect((await s.getUser("u"))!.kek).toEqual(kek);
    });

    it("refuses a duplicate user with ERR_DUPLICATE, never echoing the KEK", async () => {
      const s = await store();
      const kek = rnd(16);
      await s.addUser({ userId: "alice", kek });
      const err = await errorOf(() => s.addUser({ userId: "alice", kek }));
      expect(err).toBeInstanceOf(MbmsError);
      expect((err as MbmsError).code).toBe("ERR_DUPLICATE");
      expect((err as MbmsError).message).not.toContain(hex(kek));
      expect(String((err as MbmsError).stack)).not.toContain(hex(kek));
      expect((await s.getUser("alice"))!.kek).toEqual(kek);
    });

    it("adds a batch all or nothing", async () => {
      const s = await store();
      await s.addUser({ userId: "c", kek: rnd(16) });
      expect(await asyncCodeOf(() => s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "c", kek: rnd(16) }]))).toBe("ERR_DUPLICATE");
      expect(await asyncCodeOf(() => s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "a", kek: rnd(16) }]))).toBe("ERR_DUPLICATE");
      expect(await asyncCodeOf(() => s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "b", kek: rnd(17) }]))).toBe("ERR_KEY_LENGTH");
      expect(await s.listUserIds()).toEqual(["c"]);
      await s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "b", kek: rnd(32) }]);
      expect(await s.listUserIds()).toEqual(["a", "b", "c"]);
    });

    it("validates its inputs with typed errors", async () => {
      const s = await store();
      expect(await asyncCodeOf(() => s.addUser({ userId: "x", kek: rnd(24) }))).toBe("ERR_KEY_LENGTH");
      expect(await asyncCodeOf(() => s.addUser({ userId: "x", kek: [1, 2] as unknown as Uint8Array }))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addUser({ userId: "", kek: rnd(16) }))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addUser({ userId: "x".repeat(300), kek: rnd(16) }))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addUser({ userId: "x", kek: rnd(16), createdAt: -1 }))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addUser({ userId: "x", kek: rnd(16), createdAt: 1.5 }))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.getUser(42 as unknown as string))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.listUserIds({ limit: -1 }))).toBe("ERR_ARGUMENT");
    });

    it("updates KEKs, disabled flags and subscriptions in one all-or-nothing batch", async () => {
      const s = await store();
      await s.addService(service("news"));
      await s.addService(service("sport"));
      const [k1, k2] = [rnd(16), rnd(32)];
      await s.addUsers([{ userId: "alice", kek: k1, services: ["sport", "news"] }, { userId: "bob", kek: rnd(16) }]);
      expect(await s.listSubscriptions("alice")).toEqual(["news", "sport"]);
      expect(await s.listSubscriptions("bob")).toEqual([]);
      expect(await s.listSubscriptions("carol")).toEqual([]);
      expect([await s.isSubscribed("alice", "news"), await s.isSubscribed("bob", "news"), await s.isSubscribed("carol", "news")]).toEqual([true, false, false]);
      await s.updateUsers([{ userId: "alice", kek: k2, services: ["news"] }, { userId: "bob", disabled: true }]);
      expect(await s.getUser("alice")).toMatchObject({ kek: k2, disabled: false });
      expect(await s.listSubscriptions("alice")).toEqual(["news"]);
      expect((await s.getUser("bob"))!.disabled).toBe(true);
      // Any bad entry: nothing applied.
      const k3 = rnd(16);
      expect(await asyncCodeOf(() => s.updateUsers([{ userId: "alice", kek: k3 }, { userId: "carol", disabled: true }]))).toBe("ERR_NOT_FOUND");
      expect(await asyncCodeOf(() => s.updateUsers([{ userId: "alice", kek: k3 }, { userId: "bob", services: ["weather"] }]))).toBe("ERR_NOT_FOUND");
      expect(await asyncCodeOf(() => s.updateUsers([{ userId: "alice", kek: k3 }, { userId: "alice", disabled: true }]))).toBe("ERR_DUPLICATE");
      expect(await asyncCodeOf(() => s.updateUsers([{ userId: "alice", kek: rnd(20) }]))).toBe("ERR_KEY_LENGTH");
      expect(await asyncCodeOf(() => s.updateUsers([{ userId: "alice", services: "news" as unknown as string[] }]))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addUsers([{ userId: "dave", kek: rnd(16), services: ["weather"] }]))).toBe("ERR_NOT_FOUND");
      expect((await s.getUser("alice"))!.kek).toEqual(k2);
      expect(await s.listSubscriptions("bob")).toEqual([]);
      expect(await s.getUser("dave")).toBeUndefined();
      // Removing a service or a user removes its subscriptions.
      await s.updateUsers([{ userId: "bob", services: ["news", "sport"] }]);
      await s.removeService("news");
      expect(await s.listSubscriptions("bob")).toEqual(["sport"]);
      await s.removeUser("bob");
      await s.addUser({ userId: "bob", kek: rnd(16) });
      expect(await s.listSubscriptions("bob")).toEqual([]);
    });

    it("lists ids in code-point (UTF-8 byte) order, with keyset pagination", async () => {
      const s = await store();
      const ids = ["b", "a", "B", "\u{1F600}", "\uFF5E", "é", "a0", "z"];
      await s.addUsers(ids.map((userId) => ({ userId, kek: rnd(16) })));
      const expected = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(await s.listUserIds()).toEqual(expected);
      expect(await s.listUserIds({ limit: 3 })).toEqual(expected.slice(0, 3));
      expect(await s.listUserIds({ after: expected[2], limit: 3 })).toEqual(expected.slice(3, 6));
      expect(await s.listUserIds({ after: expected.at(-1) })).toEqual([]);
      expect(await s.listUserIds({ limit: 0 })).toEqual([]);
    });
  });

  describe("services and TGK-IDs", () => {
    it("adds, reads, lists and removes services", async () => {
      const s = await store();
      const tekRand = rnd(16);
      await s.addService(service("news", { tekRand, csbId: 0xffffffff, csId: 255 }));
      await s.addService(service("sport", { nextTgkId: 7, tekRand: rnd(32), tekScheme: "alt2 2+14" }));
      expect(await s.getService("news")).toEqual({
        serviceId: "news", csbId: 0xffffffff, csId: 255, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand, nextTgkId: 1,
      });
      expect((await s.getService("sport"))!.nextTgkId).toBe(7);
      expect([(await s.getService("news"))!.tekScheme, (await s.getService("sport"))!.tekScheme]).toEqual([undefined, "alt2 2+14"]);
      expect(await s.getService("weather")).toBeUndefined();
      expect(await s.listServiceIds()).toEqual(["news", "sport"]);
      expect(await asyncCodeOf(() => s.addService(service("news")))).toBe("ERR_DUPLICATE");
      expect((await s.getService("news"))!.tekRand).toEqual(tekRand);
      expect(await s.removeService("sport")).toBe(true);
      expect(await s.removeService("sport")).toBe(false);
      expect(await s.listServiceIds()).toEqual(["news"]);
    });

    it("validates service parameters", async () => {
      const s = await store();
      expect(await asyncCodeOf(() => s.addService(service("x", { csbId: 2 ** 32 })))).toBe("ERR_ARGUMENT");
      for (const tekScheme of ["", "x".repeat(65), 7 as unknown as string]) expect(await asyncCodeOf(() => s.addService(service("x", { tekScheme })))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addService(service("x", { csbId: -1 })))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addService(service("x", { csId: 256 })))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addService(service("x", { tekRand: rnd(15) })))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addService(service("x", { srtpProfile: "" })))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.addService(service("x", { nextTgkId: 0 })))).toBe("ERR_TGK_ID");
      expect(await s.listServiceIds()).toEqual([]);
    });

    it("allocates TGK-IDs: counter, skipping IDs in use, wrapping after the maximum", async () => {
      const s = await store();
      await s.addService(service("tv"));
      expect([await s.allocateTgkId("tv"), await s.allocateTgkId("tv")]).toEqual([1, 2]);
      await s.addTgk({ serviceId: "tv", tgkId: 3, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      expect(await s.allocateTgkId("tv")).toBe(4);
      expect((await s.getService("tv"))!.nextTgkId).toBe(5);
      // a 1-byte TGK-ID in the MKI: wrap at 255
      await s.addService(service("small", { nextTgkId: 254 }));
      await s.addTgk({ serviceId: "small", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      expect([await s.allocateTgkId("small", 255), await s.allocateTgkId("small", 255), await s.allocateTgkId("small", 255)]).toEqual([254, 255, 2]);
      // every ID taken
      await s.addService(service("full", { nextTgkId: 2 }));
      for (const tgkId of [1, 2, 3]) await s.addTgk({ serviceId: "full", tgkId, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      expect(await asyncCodeOf(() => s.allocateTgkId("full", 3))).toBe("ERR_TGK_ID");
      expect(await s.allocateTgkId("full", 4)).toBe(4);
      expect(await s.allocateTgkId("full", 4)).toBe(4); // wrapped to 1, skipped 1..3; 4 was handed out but never stored
      expect(await asyncCodeOf(() => s.allocateTgkId("nope"))).toBe("ERR_NOT_FOUND");
      expect(await asyncCodeOf(() => s.allocateTgkId("tv", 0))).toBe("ERR_ARGUMENT");
    });
  });

  describe("TGKs", () => {
    it("stores TGKs per service, lists them by expiry, refuses duplicates and unknown services", async () => {
      const s = await store();
      await s.addService(service("tv"));
      await s.addService(service("radio"));
      const t = [rnd(16), rnd(32), rnd(16)];
      await s.addTgk({ serviceId: "tv", tgkId: 5, tgk: t[0]!, validFrom: 100, expiresAt: 3000 });
      await s.addTgk({ serviceId: "tv", tgkId: 0xffffffff, tgk: t[1]!, validFrom: 100, expiresAt: 2000 });
      await s.addTgk({ serviceId: "tv", tgkId: 1, tgk: t[2]!, validFrom: 200, expiresAt: 3000 });
      await s.addTgk({ serviceId: "radio", tgkId: 5, tgk: rnd(16), validFrom: 0, expiresAt: 1 });
      expect(await s.listTgks("tv")).toEqual([
        { serviceId: "tv", tgkId: 0xffffffff, tgk: t[1], validFrom: 100, expiresAt: 2000 },
        { serviceId: "tv", tgkId: 1, tgk: t[2], validFrom: 200, expiresAt: 3000 },
        { serviceId: "tv", tgkId: 5, tgk: t[0], validFrom: 100, expiresAt: 3000 },
      ]);
      expect((await s.getTgk("tv", 5))!.tgk).toEqual(t[0]);
      expect(await s.getTgk("tv", 6)).toBeUndefined();
      expect(await s.listTgks("nope")).toEqual([]);
      const dup = rnd(16);
      const err = await errorOf(() => s.addTgk({ serviceId: "tv", tgkId: 5, tgk: dup, validFrom: 0, expiresAt: 10 }));
      expect((err as MbmsError).code).toBe("ERR_DUPLICATE");
      expect((err as MbmsError).message).not.toContain(hex(dup));
      expect((await s.getTgk("tv", 5))!.tgk).toEqual(t[0]);
      expect(await asyncCodeOf(() => s.addTgk({ serviceId: "nope", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 }))).toBe("ERR_NOT_FOUND");
    });

    it("validates TGKs", async () => {
      const s = await store();
      await s.addService(service("tv"));
      const ok = { serviceId: "tv", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 };
      expect(await asyncCodeOf(() => s.addTgk({ ...ok, tgkId: 0 }))).toBe("ERR_TGK_ID");
      expect(await asyncCodeOf(() => s.addTgk({ ...ok, tgkId: 2 ** 32 }))).toBe("ERR_TGK_ID");
      expect(await asyncCodeOf(() => s.addTgk({ ...ok, tgk: rnd(24) }))).toBe("ERR_KEY_LENGTH");
      expect(await asyncCodeOf(() => s.addTgk({ ...ok, expiresAt: 0 }))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.getTgk("tv", 0))).toBe("ERR_TGK_ID");
      expect(await s.listTgks("tv")).toEqual([]);
    });

    it("purges expired TGKs (expiresAt <= now), per service or all", async () => {
      const s = await store();
      await s.addService(service("tv"));
      await s.addService(service("radio"));
      for (const [serviceId, tgkId, expiresAt] of [["tv", 1, 100], ["tv", 2, 200], ["tv", 3, 300], ["radio", 1, 100]] as const) {
        await s.addTgk({ serviceId, tgkId, tgk: rnd(16), validFrom: 0, expiresAt });
      }
      expect(await s.deleteExpiredTgks(99)).toBe(0);
      expect(await s.deleteExpiredTgks(100, "tv")).toBe(1);
      expect((await s.listTgks("radio")).map((t) => t.tgkId)).toEqual([1]);
      expect(await s.deleteExpiredTgks(250)).toBe(2);
      expect((await s.listTgks("tv")).map((t) => t.tgkId)).toEqual([3]);
      expect(await s.listTgks("radio")).toEqual([]);
    });

    it("ends TGKs early (revocation): the valid ones expire at `at`, the future ones go, other services and expired ones stay", async () => {
      const s = await store();
      await s.addService(service("tv"));
      await s.addService(service("radio"));
      const keep = rnd(16);
      await s.addTgk({ serviceId: "tv", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 50 }); // expired before `at`
      await s.addTgk({ serviceId: "tv", tgkId: 2, tgk: keep, validFrom: 50, expiresAt: 300 }); // in force at 100
      await s.addTgk({ serviceId: "tv", tgkId: 3, tgk: rnd(16), validFrom: 300, expiresAt: 600 }); // not yet valid
      await s.addTgk({ serviceId: "tv", tgkId: 4, tgk: rnd(16), validFrom: 100, expiresAt: 400 }); // valid from `at` exactly: never in force
      await s.addTgk({ serviceId: "radio", tgkId: 2, tgk: rnd(16), validFrom: 50, expiresAt: 300 });
      expect(await s.endTgks("tv", 100)).toBe(3);
      expect(await s.listTgks("tv")).toEqual([
        { serviceId: "tv", tgkId: 1, tgk: expect.any(Uint8Array), validFrom: 0, expiresAt: 50 },
        { serviceId: "tv", tgkId: 2, tgk: keep, validFrom: 50, expiresAt: 100 },
      ]);
      expect((await s.listTgks("radio")).map((t) => t.expiresAt)).toEqual([300]);
      expect(await s.endTgks("tv", 100)).toBe(0); // idempotent
      expect(await s.deleteExpiredTgks(100, "tv")).toBe(2);
      // The IDs of the deleted TGKs are not handed out again: the counter only moves on.
      await s.addService(service("news", { nextTgkId: 7 }));
      await s.addTgk({ serviceId: "news", tgkId: await s.allocateTgkId("news"), tgk: rnd(16), validFrom: 200, expiresAt: 300 });
      expect(await s.endTgks("news", 100)).toBe(1);
      expect(await s.listTgks("news")).toEqual([]);
      expect(await s.allocateTgkId("news")).toBe(8);
      expect(await asyncCodeOf(() => s.endTgks("nope", 100))).toBe("ERR_NOT_FOUND");
      expect(await asyncCodeOf(() => s.endTgks("tv", -1))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.endTgks("", 100))).toBe("ERR_ARGUMENT");
    });

    it("removing a service removes its TGKs and TEK_RAND2 state", async () => {
      const s = await store();
      await s.addService(service("tv"));
      await s.addTgk({ serviceId: "tv", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      await s.rotateTekRand2("tv", rnd(8), 0);
      await s.removeService("tv");
      await s.addService(service("tv"));
      expect(await s.listTgks("tv")).toEqual([]);
      expect(await s.getTekRand2("tv")).toBeUndefined();
    });
  });

  describe("readKeyRequest", () => {
    it("answers what getUser, isSubscribed, getService and listTgks answer, in one call, and copies every key", async () => {
      const s = await store();
      await s.addService(service("tv", { tekScheme: "ts-1" }));
      await s.addService(service("radio"));
      await s.addUsers([{ userId: "alice", kek: rnd(16), services: ["tv"] }, { userId: "bob", kek: rnd(32), disabled: true }]);
      for (const [tgkId, expiresAt] of [[7, 3000], [0xffffffff, 2000], [1, 3000]] as const) {
        await s.addTgk({ serviceId: "tv", tgkId, tgk: rnd(16), validFrom: 100, expiresAt });
      }
      const separate = async (userId: string, serviceId: string) => ({
        user: await s.getUser(userId), subscribed: await s.isSubscribed(userId, serviceId),
        service: await s.getService(serviceId), tgks: await s.listTgks(serviceId),
      });
      for (const [u, svc] of [["alice", "tv"], ["alice", "radio"], ["bob", "tv"], ["nobody", "tv"], ["alice", "nope"], ["nobody", "nope"]] as const) {
        expect(await s.readKeyRequest(u, svc), `${u}/${svc}`).toEqual(await separate(u, svc));
      }
      const read = await s.readKeyRequest("alice", "tv");
      expect(read.tgks.map((t) => t.tgkId)).toEqual([0xffffffff, 1, 7]);
      const kek = Uint8Array.from(read.user!.kek);
      read.user!.kek.fill(0);
      read.service!.tekRand.fill(0);
      read.tgks[0]!.tgk.fill(0);
      expect((await s.getUser("alice"))!.kek).toEqual(kek); // zeroing a returned key changes nothing stored
      expect((await s.getService("tv"))!.tekRand).toEqual(service("tv").tekRand);
      expect((await s.listTgks("tv"))[0]!.tgk).not.toEqual(new Uint8Array(16));
      for (const a of [read.user!.kek, read.service!.tekRand, read.tgks[0]!.tgk]) expect(a).not.toBeInstanceOf(Buffer);
      expect(await asyncCodeOf(() => s.readKeyRequest("", "tv"))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.readKeyRequest("alice", ""))).toBe("ERR_ARGUMENT");
    });
  });

  describe("TEK_RAND2 schedule", () => {
    it("keeps the current and the previous value, compare-and-set on the period start", async () => {
      const s = await store();
      await s.addService(service("tv"));
      expect(await s.getTekRand2("tv")).toBeUndefined();
      const [r1, r2, r3] = [rnd(8), rnd(8), rnd(16)];
      expect(await s.rotateTekRand2("tv", r1, 600_000)).toEqual({
        applied: true, state: { serviceId: "tv", current: r1, currentStart: 600_000, previous: null, previousStart: null },
      });
      expect((await s.rotateTekRand2("tv", r2, 1_200_000)).state).toEqual({
        serviceId: "tv", current: r2, currentStart: 1_200_000, previous: r1, previousStart: 600_000,
      });
      // a second instance rotating for the same period loses and reads the winner's value back
      const lost = await s.rotateTekRand2("tv", r3, 1_200_000);
      expect(lost.applied).toBe(false);
      expect(lost.state.current).toEqual(r2);
      expect((await s.rotateTekRand2("tv", r3, 1_000)).applied).toBe(false);
      expect(await s.getTekRand2("tv")).toEqual({ serviceId: "tv", current: r2, currentStart: 1_200_000, previous: r1, previousStart: 600_000 });
      expect(await asyncCodeOf(() => s.rotateTekRand2("nope", r1, 1))).toBe("ERR_NOT_FOUND");
      expect(await asyncCodeOf(() => s.rotateTekRand2("tv", rnd(7), 2_000_000))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.rotateTekRand2("tv", rnd(17), 2_000_000))).toBe("ERR_ARGUMENT");
    });
  });

  describe("leases", () => {
    it("takes a free lease, renews it for its owner, refuses it to others until it expires, then hands it over", async () => {
      const s = await store();
      expect(await s.acquireLease("schedule/tv", "a", 3000, 10_000)).toEqual({ name: "schedule/tv", owner: "a", expiresAt: 13_000, acquired: true });
      expect(await s.acquireLease("schedule/tv", "b", 3000, 12_999)).toEqual({ name: "schedule/tv", owner: "a", expiresAt: 13_000, acquired: false });
      expect(await s.acquireLease("schedule/tv", "a", 3000, 12_000)).toEqual({ name: "schedule/tv", owner: "a", expiresAt: 15_000, acquired: true });
      expect((await s.acquireLease("schedule/tv", "b", 3000, 14_999)).acquired).toBe(false);
      // expired at 15,000: the first other caller takes it, and the old owner is refused until that expires
      expect(await s.acquireLease("schedule/tv", "b", 3000, 15_000)).toEqual({ name: "schedule/tv", owner: "b", expiresAt: 18_000, acquired: true });
      expect(await s.acquireLease("schedule/tv", "a", 3000, 15_001)).toEqual({ name: "schedule/tv", owner: "b", expiresAt: 18_000, acquired: false });
      // names are independent
      expect((await s.acquireLease("schedule/radio", "a", 3000, 15_001)).acquired).toBe(true);
      expect(await s.countLeases()).toBe(2);
    });

    it("releases only for the holder; a released lease is free at once", async () => {
      const s = await store();
      await s.acquireLease("ssrc/tv/1", "a", 60_000, 1000);
      expect(await s.releaseLease("ssrc/tv/1", "b")).toBe(false);
      expect((await s.acquireLease("ssrc/tv/1", "b", 60_000, 2000)).acquired).toBe(false);
      expect(await s.releaseLease("ssrc/tv/1", "a")).toBe(true);
      expect(await s.releaseLease("ssrc/tv/1", "a")).toBe(false);
      expect(await s.countLeases()).toBe(0);
      expect((await s.acquireLease("ssrc/tv/1", "b", 60_000, 2000)).acquired).toBe(true);
    });

    it("gives the lease to exactly one of many callers racing for it", async () => {
      const s = await store();
      const all = await Promise.all(Array.from({ length: 16 }, (_, i) => s.acquireLease("schedule/tv", `i${i}`, 3000, 5000)));
      const winners = all.filter((l) => l.acquired);
      expect(winners.length).toBe(1);
      expect(new Set(all.map((l) => l.owner))).toEqual(new Set([winners[0]!.owner]));
    });

    it("refuses bad arguments with ERR_ARGUMENT", async () => {
      const s = await store();
      expect(await asyncCodeOf(() => s.acquireLease("", "a", 1, 0))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.acquireLease("x", "", 1, 0))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.acquireLease("x", "a", 0, 0))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.acquireLease("x", "a", 1, -1))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.releaseLease("x", "a".repeat(257)))).toBe("ERR_ARGUMENT");
    });
  });

  describe("stream positions", () => {
    it("records, replaces and lists each sender's ROC per service, lowest SSRC first, until it expires", async () => {
      const s = await store();
      await s.addService(service("tv"));
      await s.addService(service("radio"));
      await s.putStreamPosition("tv", 0xfffffffe, 7, 10_000, 1000);
      await s.putStreamPosition("tv", 5, 1, 10_000, 1000);
      await s.putStreamPosition("radio", 5, 3, 10_000, 1000);
      expect(await s.listStreamPositions("tv", 1000)).toEqual([{ ssrc: 5, roc: 1 }, { ssrc: 0xfffffffe, roc: 7 }]);
      await s.putStreamPosition("tv", 5, 2, 10_000, 2000); // the sender's next ROC: replaced, its expiry renewed
      expect(await s.listStreamPositions("tv", 10_999)).toEqual([{ ssrc: 5, roc: 2 }, { ssrc: 0xfffffffe, roc: 7 }]);
      expect(await s.listStreamPositions("tv", 11_000)).toEqual([{ ssrc: 5, roc: 2 }]);
      expect(await s.listStreamPositions("radio", 2000)).toEqual([{ ssrc: 5, roc: 3 }]);
      expect(await s.listStreamPositions("tv", 12_000)).toEqual([]);
      expect(await s.listStreamPositions("nothing", 0)).toEqual([]);
    });

    it("forgets expired records when one is written, lists at most a key message's worth, deletes with the service", async () => {
      const s = await store();
      await s.addService(service("tv"));
      for (let i = 0; i < 20; i++) await s.putStreamPosition("tv", 100 + i, i, 1000, 0);
      expect(await s.listStreamPositions("tv", 0)).toEqual(Array.from({ length: 16 }, (_, i) => ({ ssrc: 100 + i, roc: i })));
      await s.putStreamPosition("tv", 1, 0, 1000, 1000); // the other 20 expired at 1000: gone
      for (let i = 0; i < 20; i++) expect(await s.deleteStreamPosition("tv", 100 + i)).toBe(false);
      expect(await s.deleteStreamPosition("tv", 1)).toBe(true);
      expect(await s.deleteStreamPosition("tv", 1)).toBe(false);
      await s.putStreamPosition("tv", 2, 0, 1000, 1000);
      await s.removeService("tv");
      expect(await s.listStreamPositions("tv", 1000)).toEqual([]);
      expect(await s.deleteStreamPosition("tv", 2)).toBe(false);
    });

    it("refuses an unknown service (ERR_NOT_FOUND) and bad arguments (ERR_ARGUMENT), storing nothing", async () => {
      const s = await store();
      await s.addService(service("tv"));
      expect(await asyncCodeOf(() => s.putStreamPosition("radio", 1, 0, 1000, 0))).toBe("ERR_NOT_FOUND");
      for (const [ssrc, roc, ttl, now] of [[-1, 0, 1, 0], [2 ** 32, 0, 1, 0], [1.5, 0, 1, 0], [1, -1, 1, 0], [1, 2 ** 32, 1, 0], [1, 0, 0, 0], [1, 0, 1, -1]]) {
        expect(await asyncCodeOf(() => s.putStreamPosition("tv", ssrc!, roc!, ttl!, now!))).toBe("ERR_ARGUMENT");
      }
      expect(await asyncCodeOf(() => s.putStreamPosition("", 1, 0, 1, 0))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.listStreamPositions("tv", Number.NaN))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.deleteStreamPosition("tv", -1))).toBe("ERR_ARGUMENT");
      expect(await s.listStreamPositions("tv", 0)).toEqual([]);
    });
  });

  describe("nonce replay cache", () => {
    const ok = { recorded: true };
    const replay = { recorded: false, reason: "replayed" };
    it("remembers a nonce per user until it expires", async () => {
      const s = await store();
      const n = rnd(16);
      expect(await s.rememberNonce("alice", n, 2000, 1000)).toEqual(ok);
      expect(await s.rememberNonce("alice", n, 2000, 1500)).toEqual(replay);
      expect(await s.rememberNonce("alice", Uint8Array.from(n), 9000, 1999)).toEqual(replay); // same bytes, other array
      expect(await s.rememberNonce("bob", n, 2000, 1500)).toEqual(ok); // other user
      expect(await s.rememberNonce("alice", rnd(16), 2000, 1500)).toEqual(ok); // other nonce
      expect(await s.purgeNonces(1999)).toBe(0);
      expect(await s.purgeNonces(2000)).toBe(3);
      expect(await s.purgeNonces(2000)).toBe(0);
      expect(await s.rememberNonce("alice", n, 4000, 2000)).toEqual(ok); // the old entry expired at 2000
      expect(await s.rememberNonce("alice", n, 5000, 3999)).toEqual(replay);
      expect(await s.purgeNonces(4000)).toBe(1);
      expect(await s.rememberNonce("alice", n, 5000, 4000)).toEqual(ok);
      expect(await asyncCodeOf(() => s.rememberNonce("alice", new Uint8Array(0), 1))).toBe("ERR_ARGUMENT");
      expect(await asyncCodeOf(() => s.rememberNonce("alice", rnd(16), 1, 0, 0))).toBe("ERR_ARGUMENT");
    });

    it("forgets expired nonces of every user while storing new ones, without purgeNonces", async () => {
      const s = await store();
      for (let i = 0; i < 50; i++) expect(await s.rememberNonce(`user-${i % 5}`, rnd(16), 1000 + i, 0)).toEqual(ok);
      expect(await s.countNonces()).toBe(50);
      expect(await s.countNonces("user-0")).toBe(10);
      // One store at t = 1025 forgets the 26 that expired at 1000..1025, whoever sent them.
      expect(await s.rememberNonce("other", rnd(16), 9000, 1025)).toEqual(ok);
      expect(await s.countNonces()).toBe(50 - 26 + 1);
      expect(await s.countNonces("user-0")).toBe(4); // i = 30, 35, 40, 45
      expect(await s.rememberNonce("other", rnd(16), 9000, 5000)).toEqual(ok);
      expect(await s.countNonces()).toBe(2);
      expect(await s.countNonces("user-0")).toBe(0);
    });

    it("caps the live nonces per user: 'full' with the soonest expiry, other users unaffected, room again once one expires", async () => {
      const s = await store();
      for (let i = 0; i < 4; i++) expect(await s.rememberNonce("alice", rnd(16), 2000 + i, 1000, 4)).toEqual(ok);
      const n = rnd(16);
      expect(await s.rememberNonce("alice", n, 3000, 1500, 4)).toEqual({ recorded: false, reason: "full", retryAt: 2000 });
      expect(await s.countNonces("alice")).toBe(4);
      expect(await s.rememberNonce("bob", n, 3000, 1500, 4)).toEqual(ok);
      expect(await s.rememberNonce("alice", n, 3000, 1999, 4)).toMatchObject({ reason: "full" });
      expect(await s.rememberNonce("alice", n, 3000, 2000, 4)).toEqual(ok); // the one of 2000 expired
      expect(await s.rememberNonce("alice", n, 3000, 2000, 4)).toEqual(replay); // a replay stays a replay when full
      expect(await s.countNonces("alice")).toBe(4);
      expect(await s.rememberNonce("alice", rnd(16), 3000, 2000)).toEqual(ok); // no cap given: no limit
    });
  });

  it("refuses every call after close with ERR_STORE", async () => {
    const s = await open();
    await s.addUser({ userId: "u", kek: rnd(16) });
    await s.close();
    await s.close(); // idempotent
    expect(await asyncCodeOf(() => s.getUser("u"))).toBe("ERR_STORE");
    expect(await asyncCodeOf(() => s.addUser({ userId: "v", kek: rnd(16) }))).toBe("ERR_STORE");
    expect(await asyncCodeOf(() => s.listServiceIds())).toBe("ERR_STORE");
    expect(await asyncCodeOf(() => s.readKeyRequest("u", "tv"))).toBe("ERR_STORE");
  });
});
