// SsrcRegistration (ssrc-registry.ts): a random SSRC per sender, leased in the store so that no two senders
// of a service share one (RFC 3711 §9.1), re-drawn on conflict, renewed while held, released on stop.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { systemClock } from "../src/clock.js";
import { MbmsError } from "../src/mbms/errors.js";
import { MemoryKeyStore, SsrcRegistration, asyncStore, randomSequence, type AsyncKeyStore } from "../src/mbms/bmsc/index.js";

/** `store` whose first `refuse` acquireLease calls find the lease held by someone else. */
function contested(store: AsyncKeyStore, refuse: number): { store: AsyncKeyStore; calls: () => number } {
  let calls = 0;
  const s = {
    ...store,
    acquireLease: async (name: string, owner: string, ttlMs: number, now: number) =>
      ++calls <= refuse ? { name, owner: "other", expiresAt: now + ttlMs, acquired: false } : store.acquireLease(name, owner, ttlMs, now),
  };
  return { store: s, calls: () => calls };
}

describe("SsrcRegistration", () => {
  it("gives 50 senders 50 distinct SSRCs, each a lease row, all gone once released", async () => {
    const store = asyncStore(new MemoryKeyStore());
    const regs = await Promise.all(Array.from({ length: 50 }, (_, i) => SsrcRegistration.register(store, systemClock, "tv", `s${i}`, 5000)));
    expect(new Set(regs.map((r) => r.ssrc)).size).toBe(50);
    for (const r of regs) expect(r.ssrc >>> 0).toBe(r.ssrc);
    expect(await store.countLeases()).toBe(50);
    await Promise.all(regs.map((r) => r.release()));
    expect(await store.countLeases()).toBe(0);
  });

  it("re-draws while the SSRC drawn is another sender's, and gives up with ERR_DUPLICATE after 16 draws", async () => {
    const base = asyncStore(new MemoryKeyStore());
    const c = contested(base, 3);
    const reg = await SsrcRegistration.register(c.store, systemClock, "tv", "me", 5000);
    expect(c.calls()).toBe(4);
    await reg.release();
    const err = await SsrcRegistration.register(contested(base, 100).store, systemClock, "tv", "me", 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MbmsError);
    expect((err as MbmsError).code).toBe("ERR_DUPLICATE");
  });

  it("renews while held: after several TTLs nobody else can take it; after release anybody can", async () => {
    const store = asyncStore(new MemoryKeyStore());
    const reg = await SsrcRegistration.register(store, systemClock, "tv", "me", 60);
    const name = `ssrc/tv/${reg.ssrc.toString(16).padStart(8, "0")}`;
    await sleep(250);
    expect((await store.acquireLease(name, "thief", 60, Date.now())).acquired).toBe(false);
    expect(reg.renewalFailures).toBe(0);
    await reg.release();
    expect((await store.acquireLease(name, "next", 60, Date.now())).acquired).toBe(true);
  });

  it("draws first sequence numbers over the 16-bit range (RFC 3550 §5.1)", () => {
    const seqs = Array.from({ length: 200 }, randomSequence);
    expect(seqs.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffff)).toBe(true);
    expect(new Set(seqs).size).toBeGreaterThan(190);
  });
});
