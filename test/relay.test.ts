// The browser relay (src/net/relay-server.ts) on 127.0.0.1: datagrams in on UDP, one binary WebSocket
// message each, byte for byte and in order, to every client; the origin check and the connection limit on
// the upgrade; a client that never reads is bounded, dropped and closed while another gets everything at
// once. Hostile HTTP is in test/relay-http.test.ts. Bounded: a few thousand datagrams, < 15 s in all.
import dgram from "node:dgram";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startRelay, type Relay, type RelayOptions } from "../src/net/relay-server.js";
import { prng } from "./helpers/prng.js";

const relays: Relay[] = [];
const sockets: { close(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function relay(o: Partial<RelayOptions> = {}): Promise<Relay> {
  const r = await startRelay({ udp: { port: 0 }, ...o });
  relays.push(r);
  return r;
}

function sender(r: Relay): (d: Uint8Array) => void {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  return (d) => s.send(d, r.udp.port, "127.0.0.1");
}

interface Client {
  ws: WebSocket;
  messages: Buffer[];
  /** Resolves once `n` messages have arrived in all (at once if they have). */
  received(n: number, timeoutMs?: number): Promise<void>;
}

/** A ws client, open; `origin` sets the Origin header (absent: none, as from a non-browser tool). */
function client(r: Relay, origin?: string): Promise<Client> {
  const ws = new WebSocket(r.wsUrl, origin === undefined ? {} : { origin });
  sockets.push({ close: () => ws.terminate() });
  const messages: Buffer[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  ws.on("message", (data: Buffer) => {
    messages.push(data);
    for (const w of waiters.filter((x) => messages.length >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const received = (n: number, timeoutMs = 5000) => new Promise<void>((resolve, reject) => {
    if (messages.length >= n) return resolve();
    const t = setTimeout(() => reject(new Error(`${messages.length} of ${n} messages`)), timeoutMs);
    waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, messages, received }));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

/** The status of a refused upgrade (the ws client's "Unexpected server response"). */
async function refusedWith(r: Relay, origin?: string): Promise<number> {
  try {
    await client(r, origin);
  } catch (e) {
    const m = /^HTTP (\d+)$/.exec((e as Error).message);
    if (m) return Number(m[1]);
    throw e;
  }
  return 101;
}

describe("relay: forwarding", () => {
  it("2,000 datagrams of 1..1500 bytes reach two clients byte for byte, in order, one message each", async () => {
    const r = await relay();
    const [a, b] = [await client(r), await client(r)];
    const send = sender(r);
    const rand = prng(12);
    const sent: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const d = Buffer.alloc(1 + ((i * 7919) % 1500));
      for (let j = 0; j < d.length; j++) d[j] = rand(256);
      sent.push(d);
    }
    // In batches of 100 (≤ 150 kB: inside the relay's UDP receive buffer even at the kernel's default cap).
    for (let i = 0; i < sent.length; i += 100) {
      for (const d of sent.slice(i, i + 100)) send(d);
      await Promise.all([a.received(i + 100), b.received(i + 100)]);
    }
    for (const c of [a, b]) {
      expect(c.messages.length).toBe(2000);
      expect(c.messages.every((m, i) => m.equals(sent[i]!))).toBe(true);
    }
    expect(sent.some((d) => d.length === 1) && sent.some((d) => d.length === 1500)).toBe(true);
    const s = r.stats();
    expect(s).toMatchObject({ clients: 2, packetsIn: 2000, bytesIn: sent.reduce((n, d) => n + d.length, 0), packetsOut: 4000, drops: 0, closedSlow: 0 });
    expect(s.perClient.map((c) => c.packetsSent)).toEqual([2000, 2000]);
    expect(s.perClient.every((c) => /^127\.0\.0\.1:\d+$/.test(c.remote))).toBe(true);
  });

  it("packets/s over the last second, and close() closes its clients (1001)", async () => {
    const r = await relay();
    const c = await client(r);
    const closed = new Promise<number>((resolve) => c.ws.once("close", (code) => resolve(code)));
    const send = sender(r);
    for (let i = 0; i < 50; i++) send(Buffer.alloc(100, i));
    await c.received(50);
    await new Promise((x) => setTimeout(x, 1100));
    expect(r.stats()).toMatchObject({ packetsInPerSecond: 50, packetsOutPerSecond: 50 });
    relays.splice(relays.indexOf(r), 1);
    await r.close();
    expect(await closed).toBe(1001);
  });
});

describe("relay: upgrade checks", () => {
  it("by default accepts only its own origin (and localhost on 127.0.0.1), or no Origin; refuses others with 403", async () => {
    const r = await relay();
    const port = new URL(r.httpUrl).port;
    expect(r.allowedOrigins).toEqual([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
    await client(r, `http://127.0.0.1:${port}`);
    await client(r, `http://localhost:${port}`);
    await client(r);
    expect(await refusedWith(r, "https://evil.example")).toBe(403);
    expect(await refusedWith(r, `http://127.0.0.1:${Number(port) + 1}`)).toBe(403);
    expect(await refusedWith(r, "null")).toBe(403);
    expect(r.stats()).toMatchObject({ clients: 3, refusedOrigin: 3 });
  });

  it("allowedOrigins replaces the default; a malformed one is a typed error", async () => {
    const r = await relay({ allowedOrigins: ["https://tv.example/", "http://LOCALHOST:9"] });
    expect(r.allowedOrigins).toEqual(["https://tv.example", "http://localhost:9"]);
    await client(r, "https://tv.example");
    await client(r, "http://localhost:9");
    expect(await refusedWith(r, `http://127.0.0.1:${new URL(r.httpUrl).port}`)).toBe(403);
    await expect(startRelay({ udp: { port: 0 }, allowedOrigins: ["https://tv.example/page"] })).rejects.toMatchObject({ code: "ERR_ARGUMENT" });
  });

  it("maxClients: one more is refused with 503 until a client leaves", async () => {
    const r = await relay({ maxClients: 2 });
    const a = await client(r);
    await client(r);
    expect(await refusedWith(r)).toBe(503);
    const gone = new Promise((x) => a.ws.once("close", x));
    a.ws.close();
    await gone;
    await expect.poll(() => r.stats().clients).toBe(1);
    await client(r);
    expect(r.stats()).toMatchObject({ clients: 2, refusedFull: 1 });
  });

  it("a raw refused upgrade gets its status and the socket is closed", async () => {
    const r = await relay();
    const port = Number(new URL(r.httpUrl).port);
    const answer = await new Promise<{ text: string; closed: boolean }>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      let text = "";
      s.on("data", (d) => (text += d));
      s.on("close", () => resolve({ text, closed: true }));
      s.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: https://evil.example\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
      setTimeout(() => (s.destroy(), resolve({ text, closed: false })), 3000);
    });
    expect(answer.text).toMatch(/^HTTP\/1\.1 403 /);
    expect(answer.closed).toBe(true);
  });
});

/** A WebSocket client on a raw TCP socket that stops reading once upgraded: all it is sent stays in the relay. */
function stalledClient(r: Relay): Promise<{ socket: net.Socket; bytes: () => Buffer }> {
  const port = Number(new URL(r.httpUrl).port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    sockets.push({ close: () => socket.destroy() });
    const chunks: Buffer[] = [];
    let upgraded = false;
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      if (upgraded) return;
      const all = Buffer.concat(chunks);
      if (!all.includes("\r\n\r\n")) return;
      upgraded = true;
      if (!all.toString("latin1").startsWith("HTTP/1.1 101")) return reject(new Error("not upgraded"));
      socket.pause();
      resolve({ socket, bytes: () => Buffer.concat(chunks) });
    });
    socket.on("error", reject);
    socket.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  });
}

/** The close code of the last frame in a server-to-client byte stream after the HTTP head (RFC 6455 §5.2), -1 if none. */
function lastCloseCode(stream: Buffer): number {
  let at = stream.indexOf("\r\n\r\n") + 4;
  let code = -1;
  while (at + 2 <= stream.length) {
    const len7 = stream[at + 1]! & 0x7f;
    const head = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
    const len = len7 === 126 ? stream.readUInt16BE(at + 2) : len7 === 127 ? Number(stream.readBigUInt64BE(at + 2)) : len7;
    if (at + head + len > stream.length) break;
    if ((stream[at]! & 0x0f) === 8 && len >= 2) code = stream.readUInt16BE(at + head);
    at += head + len;
  }
  return code;
}

describe("relay: a slow client", () => {
  it("is bounded, dropped and closed (1013) after its timeout; the other client gets every datagram without delay", async () => {
    const maxBufferedBytes = 256 << 10;
    const r = await relay({ maxBufferedBytes, slowClientTimeoutMs: 400 });
    const slow = await stalledClient(r);
    const fast = await client(r);
    const send = sender(r);
    const payload = Buffer.alloc(1400, 0x5a);
    let sent = 0;
    let maxBuffered = 0;
    const latencies: number[] = [];
    // Batches of 50 (70 kB), each waited for at the fast client, until the slow one is closed and 20 batches after.
    let after = -1;
    while (sent < 40_000 && after < 20) {
      const t = performance.now();
      for (let i = 0; i < 50; i++) send(payload);
      sent += 50;
      await fast.received(sent);
      latencies.push(performance.now() - t);
      const s = r.stats();
      for (const c of s.perClient) if (c.id === 1) maxBuffered = Math.max(maxBuffered, c.bufferedAmount);
      if (after >= 0) after++;
      else if (s.closedSlow === 1) {
        after = 0;
        slow.socket.resume(); // reads what was queued before the close, then the close frame
      }
    }
    const s = r.stats();
    expect(s.closedSlow).toBe(1);
    expect(fast.messages.length).toBe(sent);
    expect(s.perClient.find((c) => c.id === 2)).toMatchObject({ packetsSent: sent, drops: 0 });
    expect(s.drops).toBeGreaterThan(0);
    expect(maxBuffered).toBeGreaterThan(maxBufferedBytes / 2);
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes);
    latencies.sort((x, y) => x - y);
    console.log(`slow client: ${s.drops} drops, closed; ${sent} datagrams sent; fast client batch latency median ${latencies[latencies.length >> 1]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; slow client's buffer peak ${maxBuffered} B`);
    expect(latencies[latencies.length >> 1]!).toBeLessThan(20);
    expect(latencies.at(-1)!).toBeLessThan(500);
    await new Promise<void>((resolve) => (slow.socket.readableEnded || slow.socket.destroyed ? resolve() : slow.socket.once("close", () => resolve())));
    expect(lastCloseCode(slow.bytes())).toBe(1013);
    await expect.poll(() => r.stats().clients).toBe(1);
  });
});
