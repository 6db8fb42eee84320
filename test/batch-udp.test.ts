// src/net/batch-udp.ts: batched UDP sockets on 127.0.0.1, one suite run against both backends (the native
// addon's sendmmsg/recvmmsg with UDP GSO, and the node:dgram fallback): loss-free ordered batches with
// every byte checked, GSO on and forced off, EMSGSIZE counted (not thrown), truncation, closing while
// readable, hostile batches refused with a typed error before any syscall, bind failures typed.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BATCH, UdpError, defaultUdpIo, nativeUdpAvailable, openBatchUdp, type BatchUdpSocket, type UdpIo } from "../src/net/batch-udp.js";
import type { PacketBatch } from "../src/srtp/batch.js";
import { check, sendBatch, sleep, slots, turn } from "./helpers/udp-batches.js";

const opened: BatchUdpSocket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

async function open(io: UdpIo, gso?: boolean): Promise<BatchUdpSocket> {
  const s = await openBatchUdp({ host: "127.0.0.1", port: 0, io, gso });
  opened.push(s);
  return s;
}

async function pair(io: UdpIo, gso?: boolean) {
  const rx = await open(io);
  const tx = await open(io, gso);
  rx.setRecvBufferSize(4 << 20);
  const dest = tx.addDestination("127.0.0.1", rx.address().port);
  return { rx, tx, dest };
}

/** Sends `batches` in order, holding at most `window` datagrams in flight, while `rx` reads into 64 slots of 2048 bytes. */
async function stream(io: UdpIo, gso: boolean, total: number, size: (n: number) => number) {
  const { rx, tx, dest } = await pair(io, gso);
  const got: number[] = [];
  let bad = 0;
  const rb = slots(64, 2048);
  rx.onReadable(() => {
    for (let k = 0; k < 16; k++) {
      const n = rx.receive(rb);
      for (let i = 0; i < n; i++) {
        const v = check(rb, i, size);
        if (v < 0) bad++;
        else got.push(v);
      }
      if (n < 64) return;
    }
  });
  const WINDOW = 1024;
  let sent = 0;
  for (let idle = 0; got.length + bad < total && idle < 400;) {
    while (sent < total && sent - got.length < WINDOW) {
      const b = sendBatch(sent, Math.min(64, total - sent), size);
      for (let done = 0; done < b.count;) {
        const n = tx.send(done === 0 ? b : { buffer: b.buffer, offsets: b.offsets.subarray(done), lengths: b.lengths.subarray(done) }, dest);
        done += n;
        if (n === 0) await turn(); // EAGAIN: the socket's buffer is full, retry later
      }
      sent += b.count;
    }
    const before = got.length;
    await turn();
    idle = got.length === before ? idle + 1 : 0;
  }
  return { got, bad, tx: tx.stats(), rx: rx.stats() };
}

const BACKENDS: UdpIo[] = ["native", "dgram"];

describe.each(BACKENDS)("batched UDP socket (%s I/O)", (io) => {
  it("100,000 datagrams of mixed sizes in batches of 64: all arrive, in order, every byte as sent", async () => {
    // Odd batches: one size per batch (GSO with native I/O); even batches: every datagram its own size.
    const size = (n: number) => ((n >> 6) & 1 ? 200 + ((n >> 6) % 10) * 100 : 12 + ((n * 37) % 1389));
    const r = await stream(io, true, 100_000, size);
    expect(r.bad).toBe(0);
    expect(r.got.length).toBe(100_000);
    expect(r.got.every((n, i) => n === i)).toBe(true);
    expect(r.tx.sentPackets).toBe(100_000);
    expect(r.rx.receivedPackets).toBe(100_000);
    expect(r.tx.dropped).toBe(0);
    if (io === "native") {
      expect(r.tx.gsoMessages).toBeGreaterThan(0);
      // sendmmsg: about one syscall per batch, not one per datagram.
      expect(r.tx.sendCalls).toBeLessThan(100_000 / 32);
      expect(r.rx.receiveCalls).toBeLessThan(100_000 / 4);
    } else {
      expect(r.tx.sendCalls).toBe(100_000);
    }
  }, 60_000);

  it.each([true, false])("equal datagrams with gso %s: every byte arrives; GSO used only when on (native)", async (gso) => {
    const size = () => 1228;
    const r = await stream(io, gso, 6400, size);
    expect(r.bad).toBe(0);
    expect(r.got).toEqual(Array.from({ length: 6400 }, (_, n) => n));
    if (io === "native" && gso) {
      // 65507 / 1228 = 53 datagrams per GSO message: two messages per batch of 64, one sendmmsg.
      expect({ gso: r.tx.gso, gsoMessages: r.tx.gsoMessages, sendCalls: r.tx.sendCalls }).toEqual({ gso: true, gsoMessages: 200, sendCalls: 100 });
    } else {
      expect({ gso: r.tx.gso, gsoMessages: r.tx.gsoMessages }).toEqual({ gso: false, gsoMessages: 0 });
      expect(r.tx.sendCalls).toBe(io === "native" ? 100 : 6400);
    }
  }, 30_000);

  it("an oversized datagram is counted as EMSGSIZE and dropped, not thrown; the others of its batch go out", async () => {
    const { rx, tx, dest } = await pair(io);
    const size = (n: number) => (n === 1 ? 70_000 : 100);
    expect(tx.send(sendBatch(0, 3, size), dest)).toBe(3);
    await sleep(50);
    const rb = slots(8, 2048);
    expect(rx.receive(rb)).toBe(2);
    expect([check(rb, 0, size), check(rb, 1, size)]).toEqual([0, 2]);
    const st = tx.stats();
    expect({ sent: st.sentPackets, dropped: st.dropped, errors: st.errors }).toEqual({ sent: 2, dropped: 1, errors: { EMSGSIZE: 1 } });
  });

  it("a datagram longer than its slot comes with length 0 and is counted as truncated; its neighbours are whole", async () => {
    const { rx, tx, dest } = await pair(io);
    const size = (n: number) => (n === 1 ? 600 : 100);
    tx.send(sendBatch(0, 3, size), dest);
    await sleep(50);
    const rb = slots(3, 512);
    expect(rx.receive(rb)).toBe(3);
    expect([check(rb, 0, size), rb.lengths[1], check(rb, 2, size), rb.count]).toEqual([0, 0, 2, 3]);
    expect(rx.stats().truncated).toBe(1);
    expect(rx.sourceOf(2)).toEqual(tx.address());
    expect(() => rx.sourceOf(3)).toThrow(expect.objectContaining({ code: "ERR_UDP_ARGUMENT" }));
  });

  it("closing inside the readable callback, with datagrams still waiting: no further callback, stats still answer", async () => {
    const { rx, tx, dest } = await pair(io);
    for (let first = 0; first < 320; first += 64) tx.send(sendBatch(first, 64, () => 100), dest);
    await sleep(50);
    let calls = 0;
    let read = 0;
    rx.onReadable(() => {
      calls++;
      read += rx.receive(slots(64, 2048));
      rx.close();
    });
    await sleep(100);
    expect({ calls, read }).toEqual({ calls: 1, read: 64 });
    expect(rx.stats().receivedPackets).toBe(64);
    expect(() => rx.receive(slots(4, 2048))).toThrow(expect.objectContaining({ code: "ERR_UDP_CLOSED" }));
    expect(() => rx.onReadable(() => undefined)).toThrow(UdpError);
    rx.close(); // idempotent
  });

  it("closing from outside while readable: the callback never runs again and the port is free at once", async () => {
    const { rx, tx, dest } = await pair(io);
    let calls = 0;
    rx.onReadable(() => {
      calls++;
      rx.receive(slots(64, 2048));
    });
    tx.send(sendBatch(0, 10, () => 100), dest);
    for (let t = 0; calls === 0 && t < 100; t++) await sleep(5);
    expect(calls).toBe(1);
    const port = rx.address().port;
    tx.send(sendBatch(10, 10, () => 100), dest);
    rx.close();
    await sleep(50);
    expect(calls).toBe(1);
    const again = await openBatchUdp({ host: "127.0.0.1", port, io });
    opened.push(again);
    expect(again.address().port).toBe(port);
  });

  it("hostile batches and arguments: a typed ERR_UDP_ARGUMENT before any syscall", async () => {
    const { rx, tx, dest } = await pair(io);
    const buffer = new Uint8Array(1000);
    const i32 = (...v: number[]) => Int32Array.from(v);
    const bad: [string, () => unknown][] = [
      ["overlapping", () => tx.send({ buffer, offsets: i32(0, 50), lengths: i32(100, 10) }, dest)],
      ["out of order", () => tx.send({ buffer, offsets: i32(500, 0), lengths: i32(10, 10) }, dest)],
      ["past the end", () => tx.send({ buffer, offsets: i32(990), lengths: i32(11) }, dest)],
      ["negative length", () => tx.send({ buffer, offsets: i32(0), lengths: i32(-1) }, dest)],
      ["negative offset", () => tx.send({ buffer, offsets: i32(-4), lengths: i32(4) }, dest)],
      ["count beyond the arrays", () => tx.send({ buffer, offsets: i32(0), lengths: i32(4), count: 2 }, dest)],
      ["count not an integer", () => tx.send({ buffer, offsets: i32(0), lengths: i32(4), count: 0.5 }, dest)],
      ["too many datagrams", () => tx.send({ buffer: new Uint8Array(MAX_BATCH + 1), offsets: new Int32Array(MAX_BATCH + 1), lengths: new Int32Array(MAX_BATCH + 1) }, dest)],
      ["unknown destination", () => tx.send({ buffer, offsets: i32(0), lengths: i32(4) }, dest + 1)],
      ["no destination", () => rx.send({ buffer, offsets: i32(0), lengths: i32(4) })],
      ["receive slots out of order", () => rx.receive({ buffer, offsets: i32(500, 100), lengths: i32(0, 0) })],
      ["receive slot empty", () => rx.receive({ buffer, offsets: i32(0, 0), lengths: i32(0, 0) })],
      ["receive slot outside", () => rx.receive({ buffer, offsets: i32(1000), lengths: i32(0) })],
      ["receive max beyond the lengths", () => rx.receive({ buffer, offsets: i32(0, 100), lengths: i32(0) }, 2)],
      ["a host that is not IPv4", () => tx.addDestination("localhost", 5000)],
      ["port 0 as a destination", () => tx.addDestination("127.0.0.1", 0)],
    ];
    for (const [what, f] of bad) expect(f, what).toThrow(expect.objectContaining({ name: "UdpError", code: "ERR_UDP_ARGUMENT" }));
    for (const s of [tx.stats(), rx.stats()]) expect({ sendCalls: s.sendCalls, receiveCalls: s.receiveCalls, errors: s.errors }).toEqual({ sendCalls: 0, receiveCalls: 0, errors: {} });
  });

  it("binding a port in use is ERR_UDP_SETUP naming EADDRINUSE", async () => {
    const a = await open(io);
    const e = await openBatchUdp({ host: "127.0.0.1", port: a.address().port, io }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UdpError);
    expect(e).toMatchObject({ code: "ERR_UDP_SETUP", sysCode: "EADDRINUSE" });
  });
});

describe("the native addon itself (its own checks, for memory safety)", () => {
  const addonDir = fileURLToPath(new URL("../native/udp/", import.meta.url));

  it("is built here, and the default I/O is native unless MBMS_SRTP_UDP=dgram", () => {
    expect(nativeUdpAvailable()).toBe(true);
    const saved = process.env.MBMS_SRTP_UDP;
    try {
      delete process.env.MBMS_SRTP_UDP;
      expect(defaultUdpIo()).toBe("native");
      process.env.MBMS_SRTP_UDP = "dgram";
      expect(defaultUdpIo()).toBe("dgram");
      process.env.MBMS_SRTP_UDP = "io_uring";
      expect(() => defaultUdpIo()).toThrow(expect.objectContaining({ code: "ERR_UDP_ARGUMENT" }));
    } finally {
      if (saved === undefined) delete process.env.MBMS_SRTP_UDP;
      else process.env.MBMS_SRTP_UDP = saved;
    }
  });

  it("refuses hostile batches with a TypeError ERR_INVALID_ARG, never touching memory outside them", () => {
    const { UdpSocket } = (createRequire(import.meta.url)("node-gyp-build") as (d: string) => { UdpSocket: new (r: boolean, g: boolean) => Record<string, (...a: unknown[]) => unknown> })(addonDir);
    const s = new UdpSocket(false, true);
    try {
      s.bind!("127.0.0.1", 0);
      s.addDestination!("127.0.0.1", 9);
      const buf = new Uint8Array(100);
      const cases: unknown[][] = [
        [buf, Int32Array.of(96), Int32Array.of(8), 1, 0], // past the end
        [buf, Int32Array.of(0, 10), Int32Array.of(20, 4), 2, 0], // overlapping
        [buf, Int32Array.of(0), Int32Array.of(4), 2, 0], // count beyond the arrays
        [buf, new Float64Array(1), Int32Array.of(4), 1, 0], // wrong array type
        [buf, Int32Array.of(0), Int32Array.of(4), 1, 1], // no such destination
        [new Uint16Array(50), Int32Array.of(0), Int32Array.of(4), 1, 0], // not bytes
      ];
      for (const c of cases) expect(() => s.send!(...c), JSON.stringify(c.slice(3))).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG" }));
      expect(() => s.receive!(buf, Int32Array.of(50, 40), new Int32Array(2), 2)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG" }));
      expect(() => s.receive!(buf, Int32Array.of(0), new Int32Array(1), 1025)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG" }));
      expect((s.stats!() as { sendCalls: number }).sendCalls).toBe(0);
    } finally {
      s.close!();
    }
    expect(() => s.send!(new Uint8Array(4), Int32Array.of(0), Int32Array.of(4), 1, 0)).toThrow(expect.objectContaining({ code: "ERR_CLOSED" }));
  });
});
