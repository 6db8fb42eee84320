// Each sender's streams (SSRC, ROC) through the store, for the key messages of every instance
// (stream-publisher.ts, service-streams.ts): what the publisher writes and when, what a reader merges, and
// what a failing store costs (nothing but the store's names for a moment; the key message still goes).
import { describe, expect, it } from "vitest";
import { ServiceStreams } from "../src/mbms/bmsc/service-streams.js";
import { POLL_MS, RECORD_TTL_MS, StreamPublisher } from "../src/mbms/bmsc/stream-publisher.js";
import { MemoryKeyStore, asyncStore } from "../src/mbms/bmsc/store/index.js";
import type { SrtpStreamPosition } from "../src/mbms/stream-positions.js";
import { FaultyStore } from "./helpers/faulty-store.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { service } from "./helpers/store-fixtures.js";

const T0 = 1_800_000_000_000;

async function setup() {
  const clock = new ManualClock(T0);
  const faulty = new FaultyStore(clock);
  await faulty.store.addService(service("tv"));
  let streams: SrtpStreamPosition[] = [];
  const publisher = new StreamPublisher(faulty.store, clock, "tv", () => streams);
  return { clock, faulty, publisher, set: (s: SrtpStreamPosition[]) => void (streams = s) };
}

describe("StreamPublisher", () => {
  it("writes a stream when it appears and when its ROC changes, renews it half-way to expiry, deletes what went", async () => {
    const { clock, faulty, publisher, set } = await setup();
    const puts = () => faulty.calls.get("putStreamPosition") ?? 0;
    await clock.advanceSettled(POLL_MS);
    expect(puts()).toBe(0); // nothing sent yet
    set([{ ssrc: 0xabc, roc: 0 }]);
    await clock.advanceSettled(POLL_MS);
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([{ ssrc: 0xabc, roc: 0 }]);
    await clock.advanceSettled(10 * POLL_MS);
    expect(puts()).toBe(1); // unchanged: not written again
    set([{ ssrc: 0xabc, roc: 1 }, { ssrc: 0xdef, roc: 4 }]);
    await clock.advanceSettled(POLL_MS);
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([{ ssrc: 0xabc, roc: 1 }, { ssrc: 0xdef, roc: 4 }]);
    expect(puts()).toBe(3);
    // an hour: each record renewed every half TTL, never expired, never more than the two
    for (let t = 0; t < 3_600_000; t += 60_000) {
      await clock.advanceSettled(60_000);
      expect(faulty.memory.listStreamPositions("tv", clock.now())).toHaveLength(2);
    }
    expect(puts()).toBeLessThanOrEqual(3 + 2 * Math.ceil(3_600_000 / (RECORD_TTL_MS / 2)) + 2);
    set([{ ssrc: 0xdef, roc: 5 }]);
    await clock.advanceSettled(POLL_MS);
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([{ ssrc: 0xdef, roc: 5 }]);
    await publisher.stop();
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([]);
    const after = faulty.calls.get("putStreamPosition");
    await clock.advanceSettled(60_000);
    expect(faulty.calls.get("putStreamPosition")).toBe(after); // stopped: no timer left
  });

  it("retries a failed write at the next poll and counts it; a stop while a write is out deletes it after", async () => {
    const { clock, faulty, publisher, set } = await setup();
    set([{ ssrc: 7, roc: 2 }]);
    faulty.failNth("putStreamPosition");
    await clock.advanceSettled(POLL_MS);
    expect(publisher.failures).toBe(1);
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([]);
    await clock.advanceSettled(POLL_MS);
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([{ ssrc: 7, roc: 2 }]);
    set([{ ssrc: 7, roc: 3 }]);
    faulty.delayMs = 50;
    clock.advance(POLL_MS); // the write is out, waiting on the store
    const stopped = publisher.stop();
    faulty.delayMs = 0;
    await clock.advanceSettled(100);
    await stopped;
    expect(faulty.memory.listStreamPositions("tv", clock.now())).toEqual([]);
  });
});

describe("ServiceStreams", () => {
  it("names this process's streams first, then the store's others; reads the store at most once per poll", async () => {
    const clock = new ManualClock(T0);
    const faulty = new FaultyStore(clock);
    await faulty.store.addService(service("tv"));
    faulty.memory.putStreamPosition("tv", 1, 9, RECORD_TTL_MS, T0); // this process's stream, as published a while ago
    faulty.memory.putStreamPosition("tv", 2, 3, RECORD_TTL_MS, T0); // another instance's sender
    const streams = new ServiceStreams(faulty.store, clock);
    const remove = streams.add("tv", () => [{ ssrc: 1, roc: 10 }]);
    const reads = () => faulty.calls.get("listStreamPositions") ?? 0;
    expect(await streams.of("tv")).toEqual([{ ssrc: 1, roc: 10 }, { ssrc: 2, roc: 3 }]);
    await Promise.all(Array.from({ length: 50 }, () => streams.of("tv")));
    expect(reads()).toBe(1);
    clock.advance(POLL_MS);
    faulty.memory.putStreamPosition("tv", 2, 4, RECORD_TTL_MS, clock.now());
    expect(await streams.of("tv")).toEqual([{ ssrc: 1, roc: 10 }, { ssrc: 2, roc: 4 }]);
    expect(reads()).toBe(2);
    remove();
    clock.advance(POLL_MS);
    expect(await streams.of("tv")).toEqual([{ ssrc: 1, roc: 9 }, { ssrc: 2, roc: 4 }]);
    expect(await streams.of("radio")).toEqual([]);
  });

  it("a store that fails: this process's streams only, the failure counted, the next poll reads again", async () => {
    const clock = new ManualClock(T0);
    const faulty = new FaultyStore(clock);
    await faulty.store.addService(service("tv"));
    faulty.memory.putStreamPosition("tv", 2, 3, RECORD_TTL_MS, T0);
    const streams = new ServiceStreams(faulty.store, clock);
    streams.add("tv", () => [{ ssrc: 1, roc: 1 }]);
    faulty.failNth("listStreamPositions");
    expect(await streams.of("tv")).toEqual([{ ssrc: 1, roc: 1 }]);
    expect(streams.readFailures).toBe(1);
    clock.advance(POLL_MS);
    expect(await streams.of("tv")).toEqual([{ ssrc: 1, roc: 1 }, { ssrc: 2, roc: 3 }]);
  });

  it("at most a key message's worth of streams, each SSRC once", async () => {
    const store = new MemoryKeyStore();
    store.addService(service("tv"));
    for (let i = 0; i < 12; i++) store.putStreamPosition("tv", 100 + i, 1, RECORD_TTL_MS, T0);
    const streams = new ServiceStreams(asyncStore(store), new ManualClock(T0));
    streams.add("tv", () => Array.from({ length: 8 }, (_, i) => ({ ssrc: 200 + i, roc: 2 })));
    const named = await streams.of("tv");
    expect(named).toHaveLength(16);
    expect(new Set(named.map((s) => s.ssrc)).size).toBe(16);
    expect(named.slice(0, 8).every((s) => s.roc === 2)).toBe(true);
  });
});
