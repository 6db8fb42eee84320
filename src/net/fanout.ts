/**
 * The relay's WebSocket clients and the fan-out of one datagram to all of them, each as one binary message
 * (RFC 6455 §5.6), the same Buffer for every client: ws frames a server message as a 2–4 byte header plus the
 * payload by reference, so the only allocation per datagram and client is that header.
 *
 * Bounded per client: a datagram that would take the client's bufferedAmount (bytes ws and the socket hold,
 * not yet in the kernel) over `maxBufferedBytes` is skipped for that client and counted as a drop, so a
 * client that reads slowly holds at most that much of the relay's memory and never delays the others (a send
 * never waits). A client that has dropped every datagram for `slowClientTimeoutMs` is closed with 1013 (Try
 * Again Later, RFC 6455 §7.4, IANA registry): the close frame queues behind what it has not read, so the
 * socket is destroyed `CLOSE_GRACE_MS` later if the close handshake has not finished by then.
 */
import type { WebSocket } from "ws";

export interface ClientStats {
  id: number;
  /** The peer's address:port. */
  remote: string;
  packetsSent: number;
  drops: number;
  bufferedAmount: number;
}

export interface FanoutOptions {
  maxBufferedBytes: number;
  slowClientTimeoutMs: number;
}

interface Client {
  id: number;
  remote: string;
  ws: WebSocket;
  packetsSent: number;
  drops: number;
  /** performance.now() of the first drop of the current run of drops; -1 while datagrams go through. */
  dropSince: number;
  /** False once closing: nothing more is sent (ws would count it in bufferedAmount and discard it). */
  open: boolean;
  /** While closing: destroys the socket if the close handshake has not finished in time. */
  grace?: ReturnType<typeof setTimeout>;
}

/** The close code for a client too slow to follow the stream, and for all clients when the relay stops. */
const CLOSE_SLOW = 1013;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_GRACE_MS = 1000;
const BINARY = { binary: true } as const;

/** Bytes of a server-to-client frame header for a payload of `n` bytes (RFC 6455 §5.2; datagrams are < 64 KiB). */
const frameHeaderBytes = (n: number) => (n < 126 ? 2 : 4);

export class Fanout {
  packetsOut = 0;
  drops = 0;
  closedSlow = 0;
  private readonly clients = new Map<WebSocket, Client>();
  private nextId = 1;

  constructor(private readonly o: FanoutOptions) {}

  /** Clients connected (closing ones included, until their socket is closed: they still hold memory). */
  get size(): number {
    return this.clients.size;
  }

  add(ws: WebSocket, remote: string): void {
    const c: Client = { id: this.nextId++, remote, ws, packetsSent: 0, drops: 0, dropSince: -1, open: true };
    this.clients.set(ws, c);
    // A protocol error from the peer (a bad frame, a message over maxPayload) is followed by a close.
    ws.on("error", () => {});
    ws.once("close", () => {
      c.open = false;
      clearTimeout(c.grace);
      this.clients.delete(ws);
    });
  }

  /** Sends `data` to every open client with room for it. */
  send(data: Buffer): void {
    const need = data.length + frameHeaderBytes(data.length);
    const max = this.o.maxBufferedBytes;
    let now = -1;
    for (const c of this.clients.values()) {
      if (!c.open) continue;
      if (c.ws.bufferedAmount + need > max) {
        c.drops++;
        this.drops++;
        if (now < 0) now = performance.now();
        if (c.dropSince < 0) c.dropSince = now;
        else if (now - c.dropSince >= this.o.slowClientTimeoutMs) this.closeSlow(c);
        continue;
      }
      c.dropSince = -1;
      c.ws.send(data, BINARY);
      c.packetsSent++;
      this.packetsOut++;
    }
  }

  stats(): ClientStats[] {
    return [...this.clients.values()].map((c) => ({
      id: c.id, remote: c.remote, packetsSent: c.packetsSent, drops: c.drops, bufferedAmount: c.ws.bufferedAmount,
    }));
  }

  /** Closes every client (1001 Going Away); resolves once all sockets are closed, destroying those still open after the grace. */
  async closeAll(): Promise<void> {
    const closed = [...this.clients.values()].map((c) => new Promise<void>((r) => c.ws.once("close", () => r())));
    for (const c of this.clients.values()) this.close(c, CLOSE_GOING_AWAY, "relay stopping");
    await Promise.all(closed);
  }

  private closeSlow(c: Client): void {
    this.closedSlow++;
    this.close(c, CLOSE_SLOW, "too slow");
  }

  private close(c: Client, code: number, reason: string): void {
    if (!c.open) return;
    c.open = false;
    c.ws.close(code, reason);
    c.grace = setTimeout(() => c.ws.terminate(), CLOSE_GRACE_MS);
  }
}
