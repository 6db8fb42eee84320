// The UE's cache of MKIs without a key and the packets waiting for them (src/mbms/ue/candidate-cache.ts):
// every bound, which packets go first when one is hit, and that queued packets are copies of their own length.
import { describe, expect, it } from "vitest";
import { CandidateCache, type CandidateLimits } from "../src/mbms/ue/candidate-cache.js";

const LIMITS: CandidateLimits = { maxCandidates: 4, maxQueued: 16, maxQueuedPerMki: 4, maxQueuedBytes: 1 << 20, candidateTtlMs: 5000 };
const MKI_LEN = 6;

/** A 40-byte "packet" whose MKI (at 28) is TGK-ID 2 bytes = `tgkId` ‖ 4 bytes = `n`. */
function packet(tgkId: number, n: number, len = 40): Uint8Array {
  const p = new Uint8Array(len).fill(0xee);
  new DataView(p.buffer).setUint16(len - 12, tgkId);
  new DataView(p.buffer).setUint32(len - 10, n);
  return p;
}

function rig(limits: Partial<CandidateLimits> = {}) {
  let dropped = 0;
  const cache = new CandidateCache({ ...LIMITS, ...limits }, (n) => (dropped += n));
  /** One packet under MKI (tgkId, n) at `now`, as the evaluator admits it. */
  const admit = (tgkId: number, n: number, now: number, len = 40) => {
    const buf = packet(tgkId, n, len);
    const id = `${tgkId}/${n}`;
    const c = cache.seen(id, now, -Infinity) ?? cache.add(id, buf, len - 12, MKI_LEN, 2, now);
    if (c) cache.enqueue(c, buf, len);
    return c;
  };
  return { cache, admit, dropped: () => dropped };
}

describe("CandidateCache", () => {
  it("reads the TGK-ID from the MKI and counts packets per MKI", () => {
    const { cache, admit } = rig();
    const c = admit(0x0102, 7, 0)!;
    admit(0x0102, 7, 5);
    expect({ tgkId: c.tgkId, count: c.count, firstSeen: c.firstSeen, lastSeen: c.lastSeen, queued: c.queue.length })
      .toEqual({ tgkId: 0x0102, count: 2, firstSeen: 0, lastSeen: 5, queued: 2 });
    expect(Array.from(c.mki)).toEqual([1, 2, 0, 0, 0, 7]);
    expect([cache.size, cache.queued, cache.queuedBytes]).toEqual([1, 2, 80]);
  });

  it("counts packets since the last authentic one afresh once a packet authenticated", () => {
    const { cache, admit } = rig();
    const c = admit(1, 1, 0)!;
    admit(1, 1, 10);
    expect(c.seenSinceAuth).toBe(2);
    cache.seen("1/1", 30, 20); // an authentic packet at 20, after this MKI was last seen
    expect(c.seenSinceAuth).toBe(1);
  });

  it("full of candidates: evicts the least recently seen one that is not being derived, with its packets", () => {
    const { cache, admit, dropped } = rig();
    for (let n = 0; n < 4; n++) admit(1, n, n);
    admit(1, 0, 10); // 1/0 is now the most recently seen: 1/1 is the oldest
    const inFlight = [...cache.values()].find((c) => c.id === "1/1")!;
    inFlight.inFlight = Promise.resolve();
    admit(1, 9, 11);
    expect([...cache.values()].map((c) => c.id)).toEqual(["1/1", "1/3", "1/0", "1/9"]);
    expect(dropped()).toBe(1);
    for (const c of cache.values()) c.inFlight = Promise.resolve();
    expect(admit(1, 10, 12)).toBeUndefined();
    expect(cache.size).toBe(4);
  });

  it("per MKI: keeps the newest maxQueuedPerMki packets", () => {
    const { cache, admit, dropped } = rig();
    for (let i = 0; i < 6; i++) admit(1, 1, i);
    const c = [...cache.values()][0]!;
    expect(c.queue.length).toBe(4);
    expect(c.count).toBe(6);
    expect(dropped()).toBe(2);
    expect(cache.queued).toBe(4);
  });

  it("over the packet or byte bound: drops from the MKI with the fewest packets seen, and forgets it once empty", () => {
    const { cache, admit, dropped } = rig({ maxQueued: 5 });
    for (let i = 0; i < 4; i++) admit(1, 1, i); // the real stream's next MKI: 4 packets
    admit(1, 2, 5); // a forged one
    admit(1, 3, 6); // another: the forged 1/2 goes
    expect([...cache.values()].map((c) => [c.id, c.queue.length])).toEqual([["1/1", 4], ["1/3", 1]]);
    expect(dropped()).toBe(1);

    const bytes = rig({ maxQueuedBytes: 200 });
    for (let i = 0; i < 3; i++) bytes.admit(1, 1, i, 60);
    bytes.admit(1, 2, 3, 60);
    expect(bytes.cache.queuedBytes).toBeLessThanOrEqual(200);
    expect([...bytes.cache.values()].map((c) => c.id)).toEqual(["1/1", "1/2"]);
    expect(bytes.dropped()).toBe(1);
  });

  it("queues copies of the packet's own length, not views of the caller's buffer", () => {
    const { cache } = rig();
    const datagram = new Uint8Array(2048);
    datagram.set(packet(1, 1), 0);
    const c = cache.add("1/1", datagram, 28, MKI_LEN, 2, 0)!;
    const entry = cache.enqueue(c, datagram, 40);
    datagram.fill(0);
    expect(entry.data.buffer.byteLength).toBe(40);
    expect(entry.data[0]).toBe(0xee);
    expect(c.mki.buffer.byteLength).toBe(MKI_LEN);
  });

  it("take() hands the packets over and forgets the MKI; drop() and expiry count what they drop", () => {
    const { cache, admit, dropped } = rig();
    admit(1, 1, 0);
    admit(1, 1, 1);
    const c = admit(1, 2, 2)!;
    const packets = cache.take([...cache.values()][0]!);
    expect(packets).toHaveLength(2);
    expect([cache.size, cache.queued, cache.queuedBytes, dropped()]).toEqual([1, 1, 40, 0]);
    expect(cache.holds(c)).toBe(true);
    admit(1, 3, 4000);
    const derived = admit(1, 4, 4000)!;
    derived.inFlight = Promise.resolve();
    cache.expire(7001); // 1/2 last seen at 2; 1/3 and 1/4 at 4000
    expect([...cache.values()].map((k) => k.id)).toEqual(["1/3", "1/4"]);
    expect(dropped()).toBe(1);
    cache.expire(9001); // 1/4 is being derived: kept
    expect([...cache.values()].map((k) => k.id)).toEqual(["1/4"]);
    cache.drop(derived);
    expect([cache.size, cache.queued, cache.queuedBytes, dropped()]).toEqual([0, 0, 0, 3]);
  });
});
