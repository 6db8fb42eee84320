// The schedule lease (schedule-lease.ts) when the store's lease calls fail: two SessionManagers on one
// store whose acquireLease rejects every third call. A failed call makes an instance a reader until a call
// succeeds, so nobody rotates twice for a period, no second TGK appears, and nothing crashes.
import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "../src/clock.js";
import type { Logger } from "../src/logger.js";
import { SessionManager, type TekEvent } from "../src/mbms/bmsc/index.js";
import { FaultyStore } from "./helpers/faulty-store.js";

const managers: SessionManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});

describe("SessionManager lease: a store whose lease calls fail", () => {
  it("two instances, every third acquireLease rejected: one TEK_RAND2 per period, one TGK, both keep announcing", async () => {
    const faulty = new FaultyStore(systemClock);
    for (let k = 1; k <= 2000; k++) faulty.failNth("acquireLease", 3 * k);
    const events: [number, TekEvent][] = [];
    const leaseFailures: string[] = [];
    const logger: Logger = (_level, message, fields) => void (message === "schedule lease failed" && leaseFailures.push(String(fields?.code)));
    for (const n of [0, 1]) {
      const m = new SessionManager({ store: faulty.store, logger, lease: { ttlMs: 150 }, retryMs: 20 });
      m.onTek((e) => events.push([n, { ...e, mki: e.mki.slice() }]));
      await m.addService({ serviceId: "tv", tekRand2PeriodMs: 50, tgkLifetimeMs: 600_000, nextTgkLeadMs: 60_000 });
      managers.push(m);
    }
    await Promise.all(managers.map((m) => m.start()));
    await sleep(3000);
    await Promise.all(managers.map((m) => m.stop()));

    expect(leaseFailures.length).toBeGreaterThan(10);
    expect(new Set(leaseFailures)).toEqual(new Set(["ERR_STORE"]));
    // one TEK_RAND2 per period start, whoever announced it
    const byStart = new Map<number, Set<string>>();
    for (const [, e] of events) byStart.set(e.startsAt, (byStart.get(e.startsAt) ?? new Set()).add(Buffer.from(e.mki).toString("hex")));
    expect([...byStart.values()].filter((s) => s.size > 1)).toEqual([]);
    expect(byStart.size).toBeGreaterThan(20);
    // and only an owner wrote: one rotateTekRand2 call per period (two owners at once would each call it)
    expect(faulty.calls.get("rotateTekRand2")).toBeLessThanOrEqual(byStart.size);
    expect(faulty.memory.listTgks("tv").length).toBe(1);
    // neither instance stopped announcing: each saw most of the periods
    for (const n of [0, 1]) expect(events.filter(([i]) => i === n).length).toBeGreaterThan(byStart.size / 2);
  }, 30_000);
});
