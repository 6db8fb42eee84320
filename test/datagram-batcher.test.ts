// src/cli/datagram-batcher.ts: the receiver reading a batched UDP socket straight into one PacketBatch of
// slots, on 127.0.0.1, with both I/O backends (native recvmmsg and the node:dgram fallback).
import { afterEach, describe, expect, it } from "vitest";
import { DatagramBatcher, SLOT_BYTES } from "../src/cli/datagram-batcher.js";
import { openBatchUdp, type BatchUdpSocket, type UdpIo } from "../src/net/batch-udp.js";
import type { PacketBatch } from "../src/srtp/batch.js";
import { check, sendBatch, sleep } from "./helpers/udp-batches.js";

const opened: BatchUdpSocket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

async function pair(io: UdpIo) {
  const rx = await openBatchUdp({ host: "127.0.0.1", port: 0, io });
  const tx = await openBatchUdp({ host: "127.0.0.1", port: 0, io });
  opened.push(rx, tx);
  rx.setRecvBufferSize(1 << 20);
  tx.addDestination("127.0.0.1", rx.address().port);
  return { rx, tx };
}

const size = (n: number) => (n === 7 ? SLOT_BYTES + 1 : 100 + (n % 5) * 300);

describe.each(["native", "dgram"] as const)("DatagramBatcher (%s I/O)", (io) => {
  it("hands on every datagram in order, in batches of at most 64; one longer than a slot comes with length 0", async () => {
    const { rx, tx } = await pair(io);
    const seen: number[] = [];
    const counts: number[] = [];
    const batcher = new DatagramBatcher(rx, (b: PacketBatch) => {
      counts.push(b.count!);
      for (let i = 0; i < b.count!; i++) seen.push(b.lengths[i] === 0 ? -7 : check(b, i, size));
    });
    batcher.start();
    for (let first = 0; first < 150; first += 50) expect(tx.send(sendBatch(first, 50, size))).toBe(50);
    for (let t = 0; seen.length < 150 && t < 200; t++) await sleep(5);
    expect(seen).toEqual(Array.from({ length: 150 }, (_, n) => (n === 7 ? -7 : n)));
    expect(Math.max(...counts)).toBeLessThanOrEqual(64);
    expect(rx.stats().truncated).toBe(1);
    batcher.close();
  });

  it("onDrained: called when a read empties the socket's queue, before that read's batch", async () => {
    const { rx, tx } = await pair(io);
    const log: string[] = [];
    const batcher = new DatagramBatcher(rx, (b) => log.push(`batch ${b.count}`), () => log.push("drained"));
    tx.send(sendBatch(0, 100, () => 200));
    await sleep(50); // all 100 waiting before the first read
    batcher.start();
    for (let t = 0; log.length < 3 && t < 200; t++) await sleep(5);
    expect(log).toEqual(["batch 64", "drained", "batch 36"]);
    batcher.close();
  });

  it("close() stops the reading: nothing more is handed on, the socket stays usable", async () => {
    const { rx, tx } = await pair(io);
    let handed = 0;
    const batcher = new DatagramBatcher(rx, (b) => (handed += b.count!));
    batcher.start();
    batcher.close();
    tx.send(sendBatch(0, 10, () => 100));
    await sleep(50);
    expect(handed).toBe(0);
    const b = { buffer: new Uint8Array(64 * 2048), offsets: Int32Array.from({ length: 64 }, (_, i) => i * 2048), lengths: new Int32Array(64) };
    expect(rx.receive(b)).toBe(10);
  });
});
