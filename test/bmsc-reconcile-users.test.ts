// reconcileUsers (src/mbms/bmsc/reconcile-users.ts, what the CLI runs at every start) over the synchronous
// stores (MemoryKeyStore, SqliteKeyStore) seen as AsyncKeyStore, the way the session manager calls it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MemoryKeyStore, SqliteKeyStore, asyncStore, type KeyStore } from "../src/mbms/bmsc/store/index.js";
import { reconcileUsers, type ConfiguredUser } from "../src/mbms/bmsc/reconcile-users.js";
import { defaultCore } from "../src/wasm/default-core.js";
import { asyncCodeOf, hex, rnd, service } from "./helpers/store-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "bmsc-reconcile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const backends: [string, () => KeyStore][] = [
  ["MemoryKeyStore", () => new MemoryKeyStore()],
  ["SqliteKeyStore", () => new SqliteKeyStore(join(dir, `store-${fileNo++}.db`))],
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

  describe("reconciling users with a config (reconcileUsers, what the CLI runs at every start)", () => {
    const all = ["news", "sport"];
    const reconcile = (s: KeyStore, users: ConfiguredUser[]) => reconcileUsers(asyncStore(s), users, { allServices: all, now: 5000, core: defaultCore() });
    const state = (s: KeyStore) => s.listUserIds().map((id) => {
      const u = s.getUser(id)!;
      return { id, kek: hex(u.kek), disabled: u.disabled, services: s.listSubscriptions(id) };
    });

    it("adds, re-keys, disables the unlisted (kept, not removed), re-enables returning users, sets subscriptions", async () => {
      const s = store();
      for (const id of all) s.addService(service(id));
      const [a1, a2, b, c] = [rnd(16), rnd(32), rnd(16), rnd(16)];
      expect(await reconcile(s, [{ userId: "a", kek: a1 }, { userId: "b", kek: b }, { userId: "c", kek: c, services: ["sport"] }]))
        .toEqual({ added: 3, rekeyed: 0, disabled: 0, enabled: 0, resubscribed: 0 });
      expect(state(s)).toEqual([
        { id: "a", kek: hex(a1), disabled: false, services: all },
        { id: "b", kek: hex(b), disabled: false, services: all },
        { id: "c", kek: hex(c), disabled: false, services: ["sport"] },
      ]);
      expect(s.getUser("a")!.createdAt).toBe(5000);
      // Restart: a's KEK changed, b left, c now gets both.
      expect(await reconcile(s, [{ userId: "a", kek: a2 }, { userId: "c", kek: c }]))
        .toEqual({ added: 0, rekeyed: 1, disabled: 1, enabled: 0, resubscribed: 1 });
      expect(state(s)).toEqual([
        { id: "a", kek: hex(a2), disabled: false, services: all },
        { id: "b", kek: hex(b), disabled: true, services: all },
        { id: "c", kek: hex(c), disabled: false, services: all },
      ]);
      // The same config again: nothing to do.
      expect(await reconcile(s, [{ userId: "a", kek: a2 }, { userId: "c", kek: c }])).toEqual({ added: 0, rekeyed: 0, disabled: 0, enabled: 0, resubscribed: 0 });
      // b returns (with a new KEK and one service); a was disabled by hand and is enabled again.
      s.setUserDisabled("a", true);
      const b2 = rnd(16);
      expect(await reconcile(s, [{ userId: "a", kek: a2 }, { userId: "b", kek: b2, services: ["news"] }, { userId: "c", kek: c }]))
        .toEqual({ added: 0, rekeyed: 1, disabled: 0, enabled: 2, resubscribed: 1 });
      expect(state(s).map((u) => [u.id, u.disabled, u.services])).toEqual([["a", false, all], ["b", false, ["news"]], ["c", false, all]]);
      expect(s.getUser("b")!.kek).toEqual(b2);
    });

    it("refuses a bad config before writing anything", async () => {
      const s = store();
      for (const id of all) s.addService(service(id));
      const a = rnd(16);
      await reconcile(s, [{ userId: "a", kek: a }]);
      const before = state(s);
      expect(await asyncCodeOf(() => reconcile(s, [{ userId: "n", kek: rnd(16) }, { userId: "a", kek: rnd(16), services: ["weather"] }]))).toBe("ERR_NOT_FOUND");
      expect(await asyncCodeOf(() => reconcile(s, [{ userId: "n", kek: rnd(16) }, { userId: "n", kek: rnd(16) }]))).toBe("ERR_DUPLICATE");
      expect(await asyncCodeOf(() => reconcile(s, [{ userId: "n", kek: rnd(16) }, { userId: "a", kek: rnd(24) }]))).toBe("ERR_KEY_LENGTH");
      expect(state(s)).toEqual(before);
    });
  });
});
