// The schedule lease of SessionManager (schedule-lease.ts) in one process: who may write, and that a
// manager without the `lease` option behaves as before (no lease calls: it owns every schedule).
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
