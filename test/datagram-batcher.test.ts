// src/cli/datagram-batcher.ts: the receiver's gathering of one event-loop turn's datagrams into a PacketBatch.
import { describe, expect, it } from "vitest";
import { DatagramBatcher } from "../src/cli/datagram-batcher.js";
import type { PacketBatch } from "../src/srtp/batch.js";

const turn = () => new Promise<void>((r) => setImmediate(r));
const datagram = (n: number, len: number) => new Uint8Array(len).fill(n & 0xff);

function rig() {
  const seen: { batch: number; n: number; len: number }[] = [];
  let batches = 0;
  const sink = (b: PacketBatch) => {
    batches++;
    for (let i = 0; i < b.count!; i++) seen.push({ batch: batches, n: b.buffer[b.offsets[i]!]!, len: b.lengths[i]! });
  };
  const singles: number[] = [];
  const batcher = new DatagramBatcher(sink, (d) => {
    batches++;
    singles.push(d.length);
    seen.push({ batch: batches, n: d[0]!, len: d.length });
  });
  return { batcher, seen, singles, batches: () => batches };
}

describe("DatagramBatcher", () => {
  it("hands on one turn's datagrams as one batch, in order, at the end of the turn", async () => {
    const r = rig();
    for (let n = 0; n < 5; n++) r.batcher.add(datagram(n, 100 + n));
    expect(r.seen).toEqual([]);
    await turn();
    expect(r.seen).toEqual([0, 1, 2, 3, 4].map((n) => ({ batch: 1, n, len: 100 + n })));
  });

  it("flushes at 32 datagrams and when the buffer is full; an oversized datagram goes alone, in order", async () => {
    const r = rig();
    for (let n = 0; n < 40; n++) r.batcher.add(datagram(n, 200));
    expect(r.seen.filter((s) => s.batch === 1)).toHaveLength(32);
    r.batcher.add(datagram(40, 1400));
    r.batcher.add(datagram(41, 60_000)); // larger than the buffer: flushes what is gathered, then alone
    r.batcher.add(datagram(42, 10));
    await turn();
    expect(r.seen.map((s) => s.n)).toEqual(Array.from({ length: 43 }, (_, n) => n));
    expect(r.singles).toEqual([60_000]);
    expect(new Set(r.seen.map((s) => s.batch)).size).toBe(4);
    // 32 × 1500 bytes of buffer: 33 datagrams of 1450 bytes cannot fit, 32 do.
    const q = rig();
    for (let n = 0; n < 33; n++) q.batcher.add(datagram(n, 1450));
    await turn();
    expect(q.seen.filter((s) => s.batch === 1)).toHaveLength(32);
    expect(q.seen).toHaveLength(33);
  });

  it("onDrained: called before the turn's last batch when the turn read fewer than 32 datagrams (the queue is empty)", async () => {
    const log: string[] = [];
    const batcher = new DatagramBatcher((b) => log.push(`batch ${b.count}`), () => log.push("single"), () => log.push("drained"));
    for (let n = 0; n < 40; n++) batcher.add(datagram(n, 100)); // a full wake-up: more may be queued
    await turn();
    for (let n = 0; n < 3; n++) batcher.add(datagram(n, 100));
    await turn();
    expect(log).toEqual(["batch 32", "batch 8", "drained", "batch 3"]);
  });

  it("close() drops what is gathered and hands on nothing more", async () => {
    const r = rig();
    r.batcher.add(datagram(1, 100));
    r.batcher.close();
    r.batcher.add(datagram(2, 100));
    r.batcher.add(datagram(3, 60_000));
    await turn();
    expect(r.seen).toEqual([]);
  });
});
