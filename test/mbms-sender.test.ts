// The session-level sender (src/mbms/bmsc/mbms-sender.ts) on a ManualClock: over 1,200 TEK_RAND2 periods
// and 60 TGK lifetimes it switches exactly as the schedule says, holds at most two keys (the core's slots
// stay flat: the first version leaked one per TEK and stopped rotating after 64), never protects a packet
// under an expired TGK, and stops loudly when a TEK cannot be installed or the schedule stalls.
import { describe, expect, it } from "vitest";
import { MbmsSender, MemoryKeyStore, SessionManager, silentLogger, scheduledTekSwitches, type Clock, type KeyStore, type TekEvent } from "../src/mbms/bmsc/index.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { splitMki } from "../src/mbms/key-hierarchy.js";
import { MbmsError } from "../src/mbms/errors.js";
import { SrtpContext, loadCore } from "../src/index.js";
import { rtpPacket } from "./helpers/rtp.js";

const SERVICE = "urn:mbms:test:sender";
const PERIOD = 10, LIFE = 200;

/** A 112-byte RTP packet with the next sequence number, written into `buf` (which has room for the trailer). */
function rtpInto(buf: Uint8Array, seq: number): number {
  const rtp = rtpPacket({ seq, ssrc: 0x1234, payload: 100 });
  buf.set(rtp);
  return rtp.length;
}

async function rig<C extends Clock = ManualClock>(store: KeyStore = new MemoryKeyStore(), clock: C = new ManualClock() as unknown as C) {
  const manager = await SessionManager.create({
    store, clock, logger: silentLogger,
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: PERIOD, tgkLifetimeMs: LIFE, nextTgkLeadMs: LIFE / 4 }],
  });
  /** Every TEK announced (copies), for an independent receiver and the TGK expiry of each TGK-ID. */
  const teks: TekEvent[] = [];
  manager.onTek((e) => void teks.push({ ...e, mki: e.mki.slice(), masterKey: e.masterKey.slice(), masterSalt: e.masterSalt.slice() }));
  return { store, clock, manager, teks };
}

describe("MbmsSender", () => {
  it("follows the schedule for 1,200 periods and 60 TGK lifetimes with at most two keys and flat core slots", async () => {
    const { clock, manager, teks } = await rig();
    const core = loadCore();
    const free = core.aesPool.available;
    const sender = new MbmsSender({ manager, serviceId: SERVICE, core });
    await manager.start();
    await sender.start();
    const slotsPerKey = free - core.aesPool.available;
    expect(slotsPerKey).toBeGreaterThan(0);
    // An independent receiver on its own core, keyed from the announcements, keeping the last three keys.
    let rx: SrtpContext | undefined;
    const rxKeys: Uint8Array[] = [];
    const t0 = clock.now();
    const buf = new Uint8Array(300);
    let peakSlots = 0, received = 0, seq = 0, announced = 0;
    for (let t = 0; t < 1200 * PERIOD; t += 1) {
      await clock.advanceSettled(1);
      for (; announced < teks.length; announced++) {
        const e = teks[announced]!;
        const init = { key: e.masterKey, salt: e.masterSalt, mki: e.mki };
        if (!rx) rx = new SrtpContext({ keys: [init] });
        else rx.addKey(init);
        rxKeys.push(e.mki);
        if (rxKeys.length > 3) rx.removeKey(rxKeys.shift()!);
      }
      const rtp = rtpPacket({ seq: seq++ & 0xffff, ssrc: 0x1234, payload: 100 });
      buf.set(rtp);
      const n = sender.protect(buf, rtp.length);
      expect(n).toBe(rtp.length + 22);
      const { tgkId } = splitMki(buf.subarray(rtp.length, rtp.length + 12));
      const tgk = teks.find((e) => e.tgkId === tgkId)!;
      // Never under an expired (or not yet valid) TGK.
      expect(clock.now()).toBeLessThan(tgk.tgkExpiresAt);
      expect(clock.now()).toBeGreaterThanOrEqual(tgk.tgkValidFrom);
      expect(rx!.unprotect(buf, n)).toBe(rtp.length);
      received++;
      peakSlots = Math.max(peakSlots, free - core.aesPool.available);
    }
    const s = sender.stats;
    const check = sender.scheduleCheck();
    expect(check.expected).toBeGreaterThanOrEqual(1200);
    expect(check.actual).toBe(check.expected);
    expect(check.ok).toBe(true);
    expect(s.tekSwitches).toBe(teks.length - 1);
    expect(new Set(teks.map((e) => e.tgkId)).size).toBeGreaterThanOrEqual(60);
    expect(s.peakInstalledKeys).toBeLessThanOrEqual(2);
    expect(peakSlots).toBeLessThanOrEqual(2 * slotsPerKey);
    expect(s.withheld).toBe(0);
    expect(received).toBe(1200 * PERIOD);
    expect(clock.now() - t0).toBe(1200 * PERIOD);
    rx!.close();
    sender.close();
    expect(core.aesPool.available).toBe(free);
  });

  it("stops and says so when a TEK cannot be installed (no packet under the old key)", async () => {
    const { clock, manager } = await rig();
    const core = loadCore();
    const errors: MbmsError[] = [];
    const sender = new MbmsSender({ manager, serviceId: SERVICE, core, onError: (e) => errors.push(e) });
    await manager.start();
    await sender.start();
    const buf = new Uint8Array(300);
    expect(sender.protect(buf, rtpInto(buf, 0))).toBeGreaterThan(0);
    // Another user of the core takes every free key slot: the next TEK has nowhere to go.
    const taken: number[] = [];
    while (core.aesPool.available > 0) taken.push(core.aesPool.acquire());
    await clock.advanceSettled(PERIOD);
    expect(sender.stats.state).toBe("failed");
    expect(sender.stats.installFailures).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(["ERR_KEY_INSTALL"]);
    expect(manager.listenerFailures).toBe(1);
    expect(sender.ready).toBe(false);
    expect(sender.protect(buf, rtpInto(buf, 1))).toBe(-1);
    expect(sender.stats.withheld).toBe(1);
    expect(sender.scheduleCheck(clock.now() + 5 * PERIOD).ok).toBe(false);
    for (const slot of taken) core.aesPool.release(slot);
    sender.close();
  });

  it("withholds packets once the TGK expired and the schedule cannot produce a new TEK", async () => {
    const base = new MemoryKeyStore();
    let failing = false;
    // A store whose TEK_RAND2 rotation fails from some point on (a database gone away).
    const store = new Proxy(base, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === "rotateTekRand2" && typeof v === "function") {
          return (...args: unknown[]) => {
            if (failing) throw new MbmsError("ERR_STORE", "the store is gone");
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as KeyStore;
    const { clock, manager } = await rig(store);
    const sender = new MbmsSender({ manager, serviceId: SERVICE });
    await manager.start();
    await sender.start();
    const buf = new Uint8Array(300);
    await clock.advanceSettled(3 * PERIOD);
    failing = true;
    let sent = 0, withheld = 0;
    for (let t = 0; t < 2 * LIFE; t++) {
      await clock.advanceSettled(1);
      if (sender.protect(buf, rtpInto(buf, t)) > 0) sent++;
      else withheld++;
    }
    expect(sent).toBeGreaterThan(0);
    expect(withheld).toBeGreaterThan(0);
    expect(sender.stats.withheldExpiredTgk).toBe(withheld);
    expect(sender.scheduleCheck().ok).toBe(false);
    sender.close();
  });

  it("never sends under a TEK resumed from the store: start() takes a fresh one", async () => {
    const store = new MemoryKeyStore();
    const clock = new ManualClock();
    const first = await rig(store, clock);
    await first.manager.start();
    await first.manager.stop();
    const resumedMki = Buffer.from(first.teks[0]!.mki).toString("hex");
    await clock.advanceSettled(PERIOD / 2); // inside the same period: the restart resumes its TEK
    const second = await rig(store, clock);
    const sender = new MbmsSender({ manager: second.manager, serviceId: SERVICE });
    await second.manager.start();
    expect(second.teks.map((e) => e.resumed)).toEqual([true]);
    expect(sender.ready).toBe(false);
    await sender.start();
    expect(sender.ready).toBe(true);
    const buf = new Uint8Array(300);
    const n = sender.protect(buf, rtpInto(buf, 0));
    expect(Buffer.from(buf.subarray(112, 124)).toString("hex")).not.toBe(resumedMki);
    expect(n).toBe(112 + 12 + 10);
    sender.close();
  });
});

describe("scheduledTekSwitches", () => {
  it("counts period ends and TGK expiries once each, the grid restarting at each TGK change", () => {
    const w = { firstStart: 0, firstTgkExpiresAt: 45, tekRand2PeriodMs: 10, tgkLifetimeMs: 45 };
    // 10 20 30 40 | 45 (TGK) 55 65 75 85 | 90 (TGK) 100
    expect(scheduledTekSwitches(w, 100)).toBe(11);
    expect(scheduledTekSwitches(w, 9)).toBe(0);
    expect(scheduledTekSwitches({ ...w, firstTgkExpiresAt: 40, tgkLifetimeMs: 40 }, 80)).toBe(8);
  });
});

/** Timers that fire a millisecond early and a clock that moves a millisecond per read: a busy process. */
class JitteryClock implements Clock {
  t = 1_700_000_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now(): number {
    return this.t++;
  }
  setTimer(fn: () => void, delayMs: number): unknown {
    // (this.t is one past the now() the caller computed its delay from)
    this.timers.set(++this.seq, { at: this.t + delayMs - 2, fn });
    return this.seq;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Runs the timers due by `end`, letting the promises they start settle after each. */
  async runUntil(end: number): Promise<void> {
    while (this.t < end) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (!next || e[1].at < next[1].at) next = e;
      if (!next || next[1].at > end) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
    }
  }
}

describe("a TGK change prepared ahead", () => {
  it("the next TGK's first TEK is announced before the change, starting at it: a packet due at the expiry, before any timer ran, goes under it", async () => {
    const clock = new JitteryClock();
    const { manager, teks } = await rig(new MemoryKeyStore(), clock);
    const sender = new MbmsSender({ manager, serviceId: SERVICE });
    await manager.start();
    await sender.start();
    const E = teks[0]!.tgkExpiresAt;
    await clock.runUntil(E - 1);
    const prepared = teks.find((e) => e.startsAt === E)!;
    expect(prepared).toBeDefined();
    expect(prepared.tgkId).toBe(teks[0]!.tgkId + 1);
    expect(prepared.tgkValidFrom).toBe(E);
    expect(sender.stats.installedKeys).toBe(2); // the key in force and the prepared one
    clock.t = E; // the expiry has come; no timer has run yet
    const buf = new Uint8Array(300);
    const n = sender.protect(buf, rtpInto(buf, 0));
    expect(n).toBe(112 + 22);
    expect(splitMki(buf.subarray(112, 124)).tgkId).toBe(prepared.tgkId);
    expect(sender.stats.withheld).toBe(0);
    await clock.runUntil(E + 3 * PERIOD);
    expect(teks.filter((e) => e.startsAt === E)).toHaveLength(1); // announced once, not again at the expiry
    expect(sender.scheduleCheck(clock.t).ok).toBe(true);
    sender.close();
  });
});

describe("SessionManager schedule under timer jitter", () => {
  it("a timer that fires early never makes it skip a TEK_RAND2 period (2 of 60 went missing in the soak)", async () => {
    const clock = new JitteryClock();
    const { manager } = await rig(new MemoryKeyStore(), clock);
    const sender = new MbmsSender({ manager, serviceId: SERVICE });
    await manager.start();
    await sender.start();
    await clock.runUntil(clock.t + 300 * PERIOD);
    const check = sender.scheduleCheck(clock.t);
    expect(check.expected).toBeGreaterThanOrEqual(290);
    expect(check.actual).toBe(check.expected); // deterministic here: not even the ±1 of a real run
    sender.close();
  });
});
