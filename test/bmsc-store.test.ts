// The BM-SC key store (src/mbms/bmsc/store): one behaviour suite run against MemoryKeyStore and
// SqliteKeyStore, then what only a file can show: persistence across close/reopen, a second connection on
// the same file (several BM-SC instances), schema versioning, no raw SqliteError escaping. The 100k-user
// insert and the reopen time are measured and printed, not asserted.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MbmsError } from "../src/mbms/errors.js";
import { MemoryKeyStore, SQLITE_SCHEMA_VERSION, SqliteKeyStore, type KeyStore, type NewService } from "../src/mbms/bmsc/store/index.js";
import { reconcileUsers, type ConfiguredUser } from "../src/mbms/bmsc/reconcile-users.js";
import { defaultCore } from "../src/wasm/default-core.js";

const dir = mkdtempSync(join(tmpdir(), "bmsc-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const newFile = () => join(dir, `store-${fileNo++}.db`);

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const rnd = (n: number) => new Uint8Array(randomBytes(n));

/** Calls fn, expects an MbmsError with this code, and returns it. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MbmsError);
    return (e as MbmsError).code;
  }
  throw new Error("expected an MbmsError");
}

const service = (serviceId: string, extra: Partial<NewService> = {}): NewService => ({
  serviceId, csbId: 0x12345678, csId: 1, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand: bytes(16, 0x20), ...extra,
});

const backends: [string, () => KeyStore][] = [
  ["MemoryKeyStore", () => new MemoryKeyStore()],
  ["SqliteKeyStore", () => new SqliteKeyStore(newFile())],
];

describe.each(backends)("%s", (_name, open) => {
  const opened: KeyStore[] = [];
  const store = () => {
    const s = open();
    opened.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });

  describe("users", () => {
    it("adds, reads, lists, disables and removes users", () => {
      const s = store();
      const kek = rnd(16);
      s.addUser({ userId: "alice", kek, createdAt: 1000 });
      s.addUser({ userId: "bob", kek: rnd(32), disabled: true });
      expect(s.getUser("alice")).toEqual({ userId: "alice", kek, createdAt: 1000, disabled: false });
      const bob = s.getUser("bob")!;
      expect(bob.kek.length).toBe(32);
      expect(bob.disabled).toBe(true);
      expect(Math.abs(bob.createdAt - Date.now())).toBeLessThan(60_000);
      expect(s.getUser("carol")).toBeUndefined();
      expect(s.listUserIds()).toEqual(["alice", "bob"]);
      s.setUserDisabled("bob", false);
      expect(s.getUser("bob")!.disabled).toBe(false);
      expect(codeOf(() => s.setUserDisabled("carol", true))).toBe("ERR_NOT_FOUND");
      expect(s.removeUser("alice")).toBe(true);
      expect(s.removeUser("alice")).toBe(false);
      expect(s.getUser("alice")).toBeUndefined();
      expect(s.listUserIds()).toEqual(["bob"]);
    });

    it("copies bytes in and out, and returns plain Uint8Arrays", () => {
      const s = store();
      const kek = bytes(16, 7);
      const backing = new Uint8Array(64).fill(9);
      backing.set(kek, 5);
      s.addUser({ userId: "u", kek: backing.subarray(5, 21) });
      backing.fill(0);
      const out = s.getUser("u")!.kek;
      expect(out).toEqual(kek);
      expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
      out.fill(0);
      expect(s.getUser("u")!.kek).toEqual(kek);
    });

    it("refuses a duplicate user with ERR_DUPLICATE, never echoing the KEK", () => {
      const s = store();
      const kek = rnd(16);
      s.addUser({ userId: "alice", kek });
      let err: unknown;
      try {
        s.addUser({ userId: "alice", kek });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MbmsError);
      expect((err as MbmsError).code).toBe("ERR_DUPLICATE");
      expect((err as MbmsError).message).not.toContain(hex(kek));
      expect(String((err as MbmsError).stack)).not.toContain(hex(kek));
      expect(s.getUser("alice")!.kek).toEqual(kek);
    });

    it("adds a batch all or nothing", () => {
      const s = store();
      s.addUser({ userId: "c", kek: rnd(16) });
      expect(codeOf(() => s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "c", kek: rnd(16) }]))).toBe("ERR_DUPLICATE");
      expect(codeOf(() => s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "a", kek: rnd(16) }]))).toBe("ERR_DUPLICATE");
      expect(codeOf(() => s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "b", kek: rnd(17) }]))).toBe("ERR_KEY_LENGTH");
      expect(s.listUserIds()).toEqual(["c"]);
      s.addUsers([{ userId: "a", kek: rnd(16) }, { userId: "b", kek: rnd(32) }]);
      expect(s.listUserIds()).toEqual(["a", "b", "c"]);
    });

    it("validates its inputs with typed errors", () => {
      const s = store();
      expect(codeOf(() => s.addUser({ userId: "x", kek: rnd(24) }))).toBe("ERR_KEY_LENGTH");
      expect(codeOf(() => s.addUser({ userId: "x", kek: [1, 2] as unknown as Uint8Array }))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addUser({ userId: "", kek: rnd(16) }))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addUser({ userId: "x".repeat(300), kek: rnd(16) }))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addUser({ userId: "x", kek: rnd(16), createdAt: -1 }))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addUser({ userId: "x", kek: rnd(16), createdAt: 1.5 }))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.getUser(42 as unknown as string))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.listUserIds({ limit: -1 }))).toBe("ERR_ARGUMENT");
    });

    it("updates KEKs, disabled flags and subscriptions in one all-or-nothing batch", () => {
      const s = store();
      s.addService(service("news"));
      s.addService(service("sport"));
      const [k1, k2] = [rnd(16), rnd(32)];
      s.addUsers([{ userId: "alice", kek: k1, services: ["sport", "news"] }, { userId: "bob", kek: rnd(16) }]);
      expect(s.listSubscriptions("alice")).toEqual(["news", "sport"]);
      expect(s.listSubscriptions("bob")).toEqual([]);
      expect(s.listSubscriptions("carol")).toEqual([]);
      expect([s.isSubscribed("alice", "news"), s.isSubscribed("bob", "news"), s.isSubscribed("carol", "news")]).toEqual([true, false, false]);
      s.updateUsers([{ userId: "alice", kek: k2, services: ["news"] }, { userId: "bob", disabled: true }]);
      expect(s.getUser("alice")).toMatchObject({ kek: k2, disabled: false });
      expect(s.listSubscriptions("alice")).toEqual(["news"]);
      expect(s.getUser("bob")!.disabled).toBe(true);
      // Any bad entry: nothing applied.
      const k3 = rnd(16);
      expect(codeOf(() => s.updateUsers([{ userId: "alice", kek: k3 }, { userId: "carol", disabled: true }]))).toBe("ERR_NOT_FOUND");
      expect(codeOf(() => s.updateUsers([{ userId: "alice", kek: k3 }, { userId: "bob", services: ["weather"] }]))).toBe("ERR_NOT_FOUND");
      expect(codeOf(() => s.updateUsers([{ userId: "alice", kek: k3 }, { userId: "alice", disabled: true }]))).toBe("ERR_DUPLICATE");
      expect(codeOf(() => s.updateUsers([{ userId: "alice", kek: rnd(20) }]))).toBe("ERR_KEY_LENGTH");
      expect(codeOf(() => s.updateUsers([{ userId: "alice", services: "news" as unknown as string[] }]))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addUsers([{ userId: "dave", kek: rnd(16), services: ["weather"] }]))).toBe("ERR_NOT_FOUND");
      expect(s.getUser("alice")!.kek).toEqual(k2);
      expect(s.listSubscriptions("bob")).toEqual([]);
      expect(s.getUser("dave")).toBeUndefined();
      // Removing a service or a user removes its subscriptions.
      s.updateUsers([{ userId: "bob", services: ["news", "sport"] }]);
      s.removeService("news");
      expect(s.listSubscriptions("bob")).toEqual(["sport"]);
      s.removeUser("bob");
      s.addUser({ userId: "bob", kek: rnd(16) });
      expect(s.listSubscriptions("bob")).toEqual([]);
    });

    it("lists ids in code-point (UTF-8 byte) order, with keyset pagination", () => {
      const s = store();
      const ids = ["b", "a", "B", "\u{1F600}", "\uFF5E", "é", "a0", "z"];
      s.addUsers(ids.map((userId) => ({ userId, kek: rnd(16) })));
      const expected = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(s.listUserIds()).toEqual(expected);
      expect(s.listUserIds({ limit: 3 })).toEqual(expected.slice(0, 3));
      expect(s.listUserIds({ after: expected[2], limit: 3 })).toEqual(expected.slice(3, 6));
      expect(s.listUserIds({ after: expected.at(-1) })).toEqual([]);
      expect(s.listUserIds({ limit: 0 })).toEqual([]);
    });
  });

  describe("services and TGK-IDs", () => {
    it("adds, reads, lists and removes services", () => {
      const s = store();
      const tekRand = rnd(16);
      s.addService(service("news", { tekRand, csbId: 0xffffffff, csId: 255 }));
      s.addService(service("sport", { nextTgkId: 7, tekRand: rnd(32), tekScheme: "alt2 2+14" }));
      expect(s.getService("news")).toEqual({
        serviceId: "news", csbId: 0xffffffff, csId: 255, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand, nextTgkId: 1,
      });
      expect(s.getService("sport")!.nextTgkId).toBe(7);
      expect([s.getService("news")!.tekScheme, s.getService("sport")!.tekScheme]).toEqual([undefined, "alt2 2+14"]);
      expect(s.getService("weather")).toBeUndefined();
      expect(s.listServiceIds()).toEqual(["news", "sport"]);
      expect(codeOf(() => s.addService(service("news")))).toBe("ERR_DUPLICATE");
      expect(s.getService("news")!.tekRand).toEqual(tekRand);
      expect(s.removeService("sport")).toBe(true);
      expect(s.removeService("sport")).toBe(false);
      expect(s.listServiceIds()).toEqual(["news"]);
    });

    it("validates service parameters", () => {
      const s = store();
      expect(codeOf(() => s.addService(service("x", { csbId: 2 ** 32 })))).toBe("ERR_ARGUMENT");
      for (const tekScheme of ["", "x".repeat(65), 7 as unknown as string]) expect(codeOf(() => s.addService(service("x", { tekScheme })))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addService(service("x", { csbId: -1 })))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addService(service("x", { csId: 256 })))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addService(service("x", { tekRand: rnd(15) })))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addService(service("x", { srtpProfile: "" })))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.addService(service("x", { nextTgkId: 0 })))).toBe("ERR_TGK_ID");
      expect(s.listServiceIds()).toEqual([]);
    });

    it("allocates TGK-IDs: counter, skipping IDs in use, wrapping after the maximum", () => {
      const s = store();
      s.addService(service("tv"));
      expect([s.allocateTgkId("tv"), s.allocateTgkId("tv")]).toEqual([1, 2]);
      s.addTgk({ serviceId: "tv", tgkId: 3, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      expect(s.allocateTgkId("tv")).toBe(4);
      expect(s.getService("tv")!.nextTgkId).toBe(5);
      // a 1-byte TGK-ID in the MKI: wrap at 255
      s.addService(service("small", { nextTgkId: 254 }));
      s.addTgk({ serviceId: "small", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      expect([254, 255, 2].map(() => s.allocateTgkId("small", 255))).toEqual([254, 255, 2]);
      // every ID taken
      s.addService(service("full", { nextTgkId: 2 }));
      for (const tgkId of [1, 2, 3]) s.addTgk({ serviceId: "full", tgkId, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      expect(codeOf(() => s.allocateTgkId("full", 3))).toBe("ERR_TGK_ID");
      expect(s.allocateTgkId("full", 4)).toBe(4);
      expect(s.allocateTgkId("full", 4)).toBe(4); // wrapped to 1, skipped 1..3; 4 was handed out but never stored
      expect(codeOf(() => s.allocateTgkId("nope"))).toBe("ERR_NOT_FOUND");
      expect(codeOf(() => s.allocateTgkId("tv", 0))).toBe("ERR_ARGUMENT");
    });
  });

  describe("TGKs", () => {
    it("stores TGKs per service, lists them by expiry, refuses duplicates and unknown services", () => {
      const s = store();
      s.addService(service("tv"));
      s.addService(service("radio"));
      const t = [rnd(16), rnd(32), rnd(16)];
      s.addTgk({ serviceId: "tv", tgkId: 5, tgk: t[0]!, validFrom: 100, expiresAt: 3000 });
      s.addTgk({ serviceId: "tv", tgkId: 0xffffffff, tgk: t[1]!, validFrom: 100, expiresAt: 2000 });
      s.addTgk({ serviceId: "tv", tgkId: 1, tgk: t[2]!, validFrom: 200, expiresAt: 3000 });
      s.addTgk({ serviceId: "radio", tgkId: 5, tgk: rnd(16), validFrom: 0, expiresAt: 1 });
      expect(s.listTgks("tv")).toEqual([
        { serviceId: "tv", tgkId: 0xffffffff, tgk: t[1], validFrom: 100, expiresAt: 2000 },
        { serviceId: "tv", tgkId: 1, tgk: t[2], validFrom: 200, expiresAt: 3000 },
        { serviceId: "tv", tgkId: 5, tgk: t[0], validFrom: 100, expiresAt: 3000 },
      ]);
      expect(s.getTgk("tv", 5)!.tgk).toEqual(t[0]);
      expect(s.getTgk("tv", 6)).toBeUndefined();
      expect(s.listTgks("nope")).toEqual([]);
      const dup = rnd(16);
      let err: unknown;
      try {
        s.addTgk({ serviceId: "tv", tgkId: 5, tgk: dup, validFrom: 0, expiresAt: 10 });
      } catch (e) {
        err = e;
      }
      expect((err as MbmsError).code).toBe("ERR_DUPLICATE");
      expect((err as MbmsError).message).not.toContain(hex(dup));
      expect(s.getTgk("tv", 5)!.tgk).toEqual(t[0]);
      expect(codeOf(() => s.addTgk({ serviceId: "nope", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 }))).toBe("ERR_NOT_FOUND");
    });

    it("validates TGKs", () => {
      const s = store();
      s.addService(service("tv"));
      const ok = { serviceId: "tv", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 };
      expect(codeOf(() => s.addTgk({ ...ok, tgkId: 0 }))).toBe("ERR_TGK_ID");
      expect(codeOf(() => s.addTgk({ ...ok, tgkId: 2 ** 32 }))).toBe("ERR_TGK_ID");
      expect(codeOf(() => s.addTgk({ ...ok, tgk: rnd(24) }))).toBe("ERR_KEY_LENGTH");
      expect(codeOf(() => s.addTgk({ ...ok, expiresAt: 0 }))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.getTgk("tv", 0))).toBe("ERR_TGK_ID");
      expect(s.listTgks("tv")).toEqual([]);
    });

    it("purges expired TGKs (expiresAt <= now), per service or all", () => {
      const s = store();
      s.addService(service("tv"));
      s.addService(service("radio"));
      for (const [serviceId, tgkId, expiresAt] of [["tv", 1, 100], ["tv", 2, 200], ["tv", 3, 300], ["radio", 1, 100]] as const) {
        s.addTgk({ serviceId, tgkId, tgk: rnd(16), validFrom: 0, expiresAt });
      }
      expect(s.deleteExpiredTgks(99)).toBe(0);
      expect(s.deleteExpiredTgks(100, "tv")).toBe(1);
      expect(s.listTgks("radio").map((t) => t.tgkId)).toEqual([1]);
      expect(s.deleteExpiredTgks(250)).toBe(2);
      expect(s.listTgks("tv").map((t) => t.tgkId)).toEqual([3]);
      expect(s.listTgks("radio")).toEqual([]);
    });

    it("ends TGKs early (revocation): the valid ones expire at `at`, the future ones go, other services and expired ones stay", () => {
      const s = store();
      s.addService(service("tv"));
      s.addService(service("radio"));
      const keep = rnd(16);
      s.addTgk({ serviceId: "tv", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 50 }); // expired before `at`
      s.addTgk({ serviceId: "tv", tgkId: 2, tgk: keep, validFrom: 50, expiresAt: 300 }); // in force at 100
      s.addTgk({ serviceId: "tv", tgkId: 3, tgk: rnd(16), validFrom: 300, expiresAt: 600 }); // not yet valid
      s.addTgk({ serviceId: "tv", tgkId: 4, tgk: rnd(16), validFrom: 100, expiresAt: 400 }); // valid from `at` exactly: never in force
      s.addTgk({ serviceId: "radio", tgkId: 2, tgk: rnd(16), validFrom: 50, expiresAt: 300 });
      expect(s.endTgks("tv", 100)).toBe(3);
      expect(s.listTgks("tv")).toEqual([
        { serviceId: "tv", tgkId: 1, tgk: expect.any(Uint8Array), validFrom: 0, expiresAt: 50 },
        { serviceId: "tv", tgkId: 2, tgk: keep, validFrom: 50, expiresAt: 100 },
      ]);
      expect(s.listTgks("radio").map((t) => t.expiresAt)).toEqual([300]);
      expect(s.endTgks("tv", 100)).toBe(0); // idempotent
      expect(s.deleteExpiredTgks(100, "tv")).toBe(2);
      // The IDs of the deleted TGKs are not handed out again: the counter only moves on.
      s.addService(service("news", { nextTgkId: 7 }));
      s.addTgk({ serviceId: "news", tgkId: s.allocateTgkId("news"), tgk: rnd(16), validFrom: 200, expiresAt: 300 });
      expect(s.endTgks("news", 100)).toBe(1);
      expect(s.listTgks("news")).toEqual([]);
      expect(s.allocateTgkId("news")).toBe(8);
      expect(codeOf(() => s.endTgks("nope", 100))).toBe("ERR_NOT_FOUND");
      expect(codeOf(() => s.endTgks("tv", -1))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.endTgks("", 100))).toBe("ERR_ARGUMENT");
    });

    it("removing a service removes its TGKs and TEK_RAND2 state", () => {
      const s = store();
      s.addService(service("tv"));
      s.addTgk({ serviceId: "tv", tgkId: 1, tgk: rnd(16), validFrom: 0, expiresAt: 10 });
      s.rotateTekRand2("tv", rnd(8), 0);
      s.removeService("tv");
      s.addService(service("tv"));
      expect(s.listTgks("tv")).toEqual([]);
      expect(s.getTekRand2("tv")).toBeUndefined();
    });
  });

  describe("TEK_RAND2 schedule", () => {
    it("keeps the current and the previous value, compare-and-set on the period start", () => {
      const s = store();
      s.addService(service("tv"));
      expect(s.getTekRand2("tv")).toBeUndefined();
      const [r1, r2, r3] = [rnd(8), rnd(8), rnd(16)];
      expect(s.rotateTekRand2("tv", r1, 600_000)).toEqual({
        applied: true, state: { serviceId: "tv", current: r1, currentStart: 600_000, previous: null, previousStart: null },
      });
      expect(s.rotateTekRand2("tv", r2, 1_200_000).state).toEqual({
        serviceId: "tv", current: r2, currentStart: 1_200_000, previous: r1, previousStart: 600_000,
      });
      // a second instance rotating for the same period loses and reads the winner's value back
      const lost = s.rotateTekRand2("tv", r3, 1_200_000);
      expect(lost.applied).toBe(false);
      expect(lost.state.current).toEqual(r2);
      expect(s.rotateTekRand2("tv", r3, 1_000).applied).toBe(false);
      expect(s.getTekRand2("tv")).toEqual({ serviceId: "tv", current: r2, currentStart: 1_200_000, previous: r1, previousStart: 600_000 });
      expect(codeOf(() => s.rotateTekRand2("nope", r1, 1))).toBe("ERR_NOT_FOUND");
      expect(codeOf(() => s.rotateTekRand2("tv", rnd(7), 2_000_000))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.rotateTekRand2("tv", rnd(17), 2_000_000))).toBe("ERR_ARGUMENT");
    });
  });

  describe("nonce replay cache", () => {
    const ok = { recorded: true };
    const replay = { recorded: false, reason: "replayed" };
    it("remembers a nonce per user until it expires", () => {
      const s = store();
      const n = rnd(16);
      expect(s.rememberNonce("alice", n, 2000, 1000)).toEqual(ok);
      expect(s.rememberNonce("alice", n, 2000, 1500)).toEqual(replay);
      expect(s.rememberNonce("alice", Uint8Array.from(n), 9000, 1999)).toEqual(replay); // same bytes, other array
      expect(s.rememberNonce("bob", n, 2000, 1500)).toEqual(ok); // other user
      expect(s.rememberNonce("alice", rnd(16), 2000, 1500)).toEqual(ok); // other nonce
      expect(s.purgeNonces(1999)).toBe(0);
      expect(s.purgeNonces(2000)).toBe(3);
      expect(s.purgeNonces(2000)).toBe(0);
      expect(s.rememberNonce("alice", n, 4000, 2000)).toEqual(ok); // the old entry expired at 2000
      expect(s.rememberNonce("alice", n, 5000, 3999)).toEqual(replay);
      expect(s.purgeNonces(4000)).toBe(1);
      expect(s.rememberNonce("alice", n, 5000, 4000)).toEqual(ok);
      expect(codeOf(() => s.rememberNonce("alice", new Uint8Array(0), 1))).toBe("ERR_ARGUMENT");
      expect(codeOf(() => s.rememberNonce("alice", rnd(16), 1, 0, 0))).toBe("ERR_ARGUMENT");
    });

    it("forgets expired nonces of every user while storing new ones, without purgeNonces", () => {
      const s = store();
      for (let i = 0; i < 50; i++) expect(s.rememberNonce(`user-${i % 5}`, rnd(16), 1000 + i, 0)).toEqual(ok);
      expect(s.countNonces()).toBe(50);
      expect(s.countNonces("user-0")).toBe(10);
      // One store at t = 1025 forgets the 26 that expired at 1000..1025, whoever sent them.
      expect(s.rememberNonce("other", rnd(16), 9000, 1025)).toEqual(ok);
      expect(s.countNonces()).toBe(50 - 26 + 1);
      expect(s.countNonces("user-0")).toBe(4); // i = 30, 35, 40, 45
      expect(s.rememberNonce("other", rnd(16), 9000, 5000)).toEqual(ok);
      expect(s.countNonces()).toBe(2);
      expect(s.countNonces("user-0")).toBe(0);
    });

    it("caps the live nonces per user: 'full' with the soonest expiry, other users unaffected, room again once one expires", () => {
      const s = store();
      for (let i = 0; i < 4; i++) expect(s.rememberNonce("alice", rnd(16), 2000 + i, 1000, 4)).toEqual(ok);
      const n = rnd(16);
      expect(s.rememberNonce("alice", n, 3000, 1500, 4)).toEqual({ recorded: false, reason: "full", retryAt: 2000 });
      expect(s.countNonces("alice")).toBe(4);
      expect(s.rememberNonce("bob", n, 3000, 1500, 4)).toEqual(ok);
      expect(s.rememberNonce("alice", n, 3000, 1999, 4)).toMatchObject({ reason: "full" });
      expect(s.rememberNonce("alice", n, 3000, 2000, 4)).toEqual(ok); // the one of 2000 expired
      expect(s.rememberNonce("alice", n, 3000, 2000, 4)).toEqual(replay); // a replay stays a replay when full
      expect(s.countNonces("alice")).toBe(4);
      expect(s.rememberNonce("alice", rnd(16), 3000, 2000)).toEqual(ok); // no cap given: no limit
    });
  });

  describe("reconciling users with a config (reconcileUsers, what the CLI runs at every start)", () => {
    const all = ["news", "sport"];
    const sync = (s: KeyStore, users: ConfiguredUser[]) => reconcileUsers(s, users, { allServices: all, now: 5000, core: defaultCore() });
    const state = (s: KeyStore) => s.listUserIds().map((id) => {
      const u = s.getUser(id)!;
      return { id, kek: hex(u.kek), disabled: u.disabled, services: s.listSubscriptions(id) };
    });

    it("adds, re-keys, disables the unlisted (kept, not removed), re-enables returning users, sets subscriptions", () => {
      const s = store();
      for (const id of all) s.addService(service(id));
      const [a1, a2, b, c] = [rnd(16), rnd(32), rnd(16), rnd(16)];
      expect(sync(s, [{ userId: "a", kek: a1 }, { userId: "b", kek: b }, { userId: "c", kek: c, services: ["sport"] }]))
        .toEqual({ added: 3, rekeyed: 0, disabled: 0, enabled: 0, resubscribed: 0 });
      expect(state(s)).toEqual([
        { id: "a", kek: hex(a1), disabled: false, services: all },
        { id: "b", kek: hex(b), disabled: false, services: all },
        { id: "c", kek: hex(c), disabled: false, services: ["sport"] },
      ]);
      expect(s.getUser("a")!.createdAt).toBe(5000);
      // Restart: a's KEK changed, b left, c now gets both.
      expect(sync(s, [{ userId: "a", kek: a2 }, { userId: "c", kek: c }]))
        .toEqual({ added: 0, rekeyed: 1, disabled: 1, enabled: 0, resubscribed: 1 });
      expect(state(s)).toEqual([
        { id: "a", kek: hex(a2), disabled: false, services: all },
        { id: "b", kek: hex(b), disabled: true, services: all },
        { id: "c", kek: hex(c), disabled: false, services: all },
      ]);
      // The same config again: nothing to do.
      expect(sync(s, [{ userId: "a", kek: a2 }, { userId: "c", kek: c }])).toEqual({ added: 0, rekeyed: 0, disabled: 0, enabled: 0, resubscribed: 0 });
      // b returns (with a new KEK and one service); a was disabled by hand and is enabled again.
      s.setUserDisabled("a", true);
      const b2 = rnd(16);
      expect(sync(s, [{ userId: "a", kek: a2 }, { userId: "b", kek: b2, services: ["news"] }, { userId: "c", kek: c }]))
        .toEqual({ added: 0, rekeyed: 1, disabled: 0, enabled: 2, resubscribed: 1 });
      expect(state(s).map((u) => [u.id, u.disabled, u.services])).toEqual([["a", false, all], ["b", false, ["news"]], ["c", false, all]]);
      expect(s.getUser("b")!.kek).toEqual(b2);
    });

    it("refuses a bad config before writing anything", () => {
      const s = store();
      for (const id of all) s.addService(service(id));
      const a = rnd(16);
      sync(s, [{ userId: "a", kek: a }]);
      const before = state(s);
      expect(codeOf(() => sync(s, [{ userId: "n", kek: rnd(16) }, { userId: "a", kek: rnd(16), services: ["weather"] }]))).toBe("ERR_NOT_FOUND");
      expect(codeOf(() => sync(s, [{ userId: "n", kek: rnd(16) }, { userId: "n", kek: rnd(16) }]))).toBe("ERR_DUPLICATE");
      expect(codeOf(() => sync(s, [{ userId: "n", kek: rnd(16) }, { userId: "a", kek: rnd(24) }]))).toBe("ERR_KEY_LENGTH");
      expect(state(s)).toEqual(before);
    });
  });

  it("refuses every call after close with ERR_STORE", () => {
    const s = open();
    s.addUser({ userId: "u", kek: rnd(16) });
    s.close();
    s.close(); // idempotent
    expect(codeOf(() => s.getUser("u"))).toBe("ERR_STORE");
    expect(codeOf(() => s.addUser({ userId: "v", kek: rnd(16) }))).toBe("ERR_STORE");
    expect(codeOf(() => s.listServiceIds())).toBe("ERR_STORE");
  });
});

// ---- what only the SQLite file can show ----

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
    raw.exec("DROP TABLE subscriptions; ALTER TABLE services DROP COLUMN tek_scheme; UPDATE schema_version SET version = 1");
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
    raw.exec("ALTER TABLE services DROP COLUMN tek_scheme; UPDATE schema_version SET version = 2");
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
