// src/cli/sender.ts over a socket whose send buffer fills (EAGAIN: send() takes fewer datagrams than given,
// sometimes none): what one destination did not take is sent at the next tick, before anything new, so
// every destination gets every packet once and in order, and `packets` counts only what all of them took.
import { describe, expect, it } from "vitest";
import { Sender } from "../src/cli/sender.js";
import { SyntheticSource } from "../src/cli/synthetic-source.js";
import type { BatchUdpSocket } from "../src/net/batch-udp.js";
import type { PacketBatch } from "../src/srtp/batch.js";
import { sleep } from "./helpers/udp-batches.js";

/** Records the packet numbers each destination took; takes at most `room(call)` datagrams per call. */
function fullSocket(room: (call: number) => number) {
  const got: number[][] = [];
  let calls = 0;
  const sock = {
    addDestination: () => got.push([]) - 1,
    send: (b: PacketBatch, dest = 0) => {
      const n = Math.min(b.count ?? b.offsets.length, room(calls++));
      for (let i = 0; i < n; i++) got[dest]!.push(new DataView(b.buffer.buffer, b.buffer.byteOffset).getUint32(b.offsets[i]! + 12));
      return n;
    },
  };
  return { sock: sock as unknown as BatchUdpSocket, got };
}

describe("Sender when the socket is full (EAGAIN)", () => {
  it("sends the rest later, in order, to each destination; nothing new before the rest", async () => {
    // Every third call takes nothing, the others at most 7 datagrams (a batch is 32).
    const { sock, got } = fullSocket((c) => (c % 3 === 2 ? 0 : 7));
    const source = new SyntheticSource({ bitrate: 20e6, payloadSize: 200, ssrc: 1 });
    const sender = new Sender(sock, source, [{ host: "127.0.0.1", port: 5000 }, { host: "127.0.0.1", port: 5002 }], true);
    sender.start();
    await sleep(300);
    sender.stop();
    expect(sender.packets).toBeGreaterThan(100);
    for (const d of got) {
      expect(d.slice(0, sender.packets)).toEqual(Array.from({ length: sender.packets }, (_, n) => n));
      // At most the batch in flight beyond what `packets` counts: all 32 of it when this destination took the
      // whole batch and the other not yet.
      expect(d.length - sender.packets).toBeLessThanOrEqual(32);
    }
  });
});
