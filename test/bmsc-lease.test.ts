// The schedule lease of SessionManager (schedule-lease.ts) in one process: who may write, that revoking a
// user on a non-owner is refused before anything changes (revocation.ts), and that a manager without the
// `lease` option behaves as before (no lease calls: it owns every schedule).
import { describe, expect, it } from "vitest";
import { systemClock } from "../src/clock.js";
import { silentLogger } from "../src/logger.js";
import { MbmsError } from "../src/mbms/errors.js";
import { SessionManager } from "../src/mbms/bmsc/index.js";
import { FaultyStore } from "./helpers/faulty-store.js";

const service = { serviceId: "tv", tekRand2PeriodMs: 60_000, tgkLifetimeMs: 600_000, nextTgkLeadMs: 60_000 };

describe("SessionManager lease", () => {
  it("the second instance on a store does not own the schedule: its forced rotation is ERR_NOT_OWNER and writes nothing", async () => {
    const faulty = new FaultyStore(systemClock);
    const a = await SessionManager.create({ store: faulty.store, logger: silentLogger, lease: { ttlMs: 3000 }, services: [service] });
    const b = await SessionManager.create({ store: faulty.store, logger: silentLogger, lease: { ttlMs: 3000 }, services: [service] });
    await a.start();
    await b.start();
    expect([a.ownsSchedule("tv"), b.ownsSchedule("tv")]).toEqual([true, false]);
    const rotations = faulty.calls.get("rotateTekRand2");
    const err = await b.rotateTekNow("tv").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MbmsError);
    expect((err as MbmsError).code).toBe("ERR_NOT_OWNER");
    expect(faulty.calls.get("rotateTekRand2")).toBe(rotations);
    await a.rotateTekNow("tv");
    expect(faulty.calls.get("rotateTekRand2")).toBe(rotations! + 1);
    // both announce the same TEK in force
    expect((await b.currentTek("tv")).mki).toEqual((await a.currentTek("tv")).mki);
    // a clean stop releases the lease: the other instance owns it at its next step
    await a.stop();
    await b.tick();
    expect(b.ownsSchedule("tv")).toBe(true);
    await b.stop();
    expect(faulty.memory.countLeases()).toBe(0);
  });

  it("revoking on a non-owner: ERR_NOT_OWNER naming the owner, nothing changed; on the owner (and after it stops) it revokes", async () => {
    const faulty = new FaultyStore(systemClock);
    const lease = (owner: string) => ({ ttlMs: 3000, owner });
    const a = await SessionManager.create({ store: faulty.store, logger: silentLogger, lease: lease("bmsc-a"), services: [service] });
    const b = await SessionManager.create({ store: faulty.store, logger: silentLogger, lease: lease("bmsc-b"), services: [service] });
    await a.start();
    await b.start();
    const kek = new Uint8Array(16).fill(7);
    for (const u of ["sip:1@x.invalid", "sip:2@x.invalid", "sip:3@x.invalid"]) await b.addUser(u, kek); // no revocation: any instance
    const tgks = async () => (await a.store.listTgks("tv")).map((t) => { t.tgk.fill(0); return `${t.tgkId}:${t.expiresAt}`; });
    const before = await tgks();
    const refused = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(MbmsError);
      expect((err as MbmsError).code).toBe("ERR_NOT_OWNER");
      expect((err as MbmsError).message).toContain('instance "bmsc-a"');
    };
    await refused(b.removeUser("sip:1@x.invalid"));
    await refused(b.setUserDisabled("sip:2@x.invalid", true));
    // the config dropped user 3: the reconcile is refused before it writes
    await refused(b.reconcileUsers([{ userId: "sip:1@x.invalid", kek }, { userId: "sip:2@x.invalid", kek }]));
    expect(await a.store.listUserIds()).toHaveLength(3);
    for (const u of ["sip:1@x.invalid", "sip:2@x.invalid", "sip:3@x.invalid"]) expect((await a.store.getUser(u))!.disabled).toBe(false);
    expect(await tgks()).toEqual(before);
    // enabling revokes nothing: allowed anywhere
    await b.setUserDisabled("sip:2@x.invalid", false);
    // the owner revokes: a fresh TGK under the next TGK-ID
    expect(await a.removeUser("sip:1@x.invalid")).toBe(true);
    const afterA = await tgks();
    expect(afterA).not.toEqual(before);
    // once the owner stopped (lease released), b owns the schedule at its next step and may revoke
    await a.stop();
    await b.tick();
    await b.setUserDisabled("sip:2@x.invalid", true);
    expect((await b.store.getUser("sip:2@x.invalid"))!.disabled).toBe(true);
    expect(await tgks()).not.toEqual(afterA);
    await b.stop();
  });

  it("without the lease option: no lease call, the manager owns every schedule", async () => {
    const faulty = new FaultyStore(systemClock);
    const m = await SessionManager.create({ store: faulty.store, logger: silentLogger, services: [service] });
    await m.start();
    await m.rotateTekNow("tv");
    await m.stop();
    expect(m.ownsSchedule("tv")).toBe(true);
    expect(faulty.calls.get("acquireLease")).toBeUndefined();
    expect(faulty.memory.countLeases()).toBe(0);
  });
});
