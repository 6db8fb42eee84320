/**
 * The native backend: a thin layer over the native/udp addon (sendmmsg with UDP GSO, recvmmsg, libuv
 * readability). The shape of every batch is checked here first (batch-shape.ts), so a malformed call
 * throws a UdpError before the addon (which checks again, for its own memory safety) is entered.
 */
import type { PacketBatch } from "../srtp/batch.js";
import { checkDestination, receiveSlots, sendCount } from "./batch-shape.js";
import { UdpError, setupError } from "./udp-error.js";
import type { BatchUdpOptions, BatchUdpSocket, UdpAddress, UdpStats } from "./udp-socket.js";

/** The addon's socket (native/udp/src/addon.c). */
export interface NativeHandle {
  bind(host: string, port: number): void;
  address(): UdpAddress;
  addDestination(host: string, port: number): number;
  addMembership(group: string, iface: string): void;
  setMulticastTTL(ttl: number): void;
  setMulticastLoopback(on: boolean): void;
  setMulticastInterface(iface: string): void;
  setRecvBufferSize(bytes: number): number;
  setSendBufferSize(bytes: number): number;
  send(buffer: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number, dest: number): number;
  receive(buffer: Uint8Array, offsets: Int32Array, lengths: Int32Array, max: number): number;
  sourceOf(i: number): UdpAddress;
  onReadable(fn: (() => void) | null): void;
  stats(): Omit<UdpStats, "io">;
  close(): void;
}

export interface NativeAddon {
  UdpSocket: new (reuseAddr: boolean, gso: boolean) => NativeHandle;
}

export class NativeUdp implements BatchUdpSocket {
  readonly io = "native" as const;
  drained = true;
  private closed = false;
  private destinations = 0;
  private received = 0;

  private constructor(private readonly h: NativeHandle) {}

  static open(addon: NativeAddon, o: BatchUdpOptions): NativeUdp {
    const h = new addon.UdpSocket(o.reuseAddr === true, o.gso !== false);
    try {
      h.bind(o.host, o.port);
    } catch (e) {
      h.close();
      throw setupError(`bind ${o.host}:${o.port}`, e);
    }
    return new NativeUdp(h);
  }

  address(): UdpAddress {
    return this.setup("address", () => this.h.address());
  }

  addDestination(host: string, port: number): number {
    const i = this.setup(`destination ${host}:${port}`, () => this.h.addDestination(host, port));
    this.destinations = i + 1;
    return i;
  }

  addMembership(group: string, iface: string): void {
    this.setup(`membership of ${group} on ${iface}`, () => this.h.addMembership(group, iface));
  }

  setMulticastTTL(ttl: number): void {
    this.setup("multicast TTL", () => this.h.setMulticastTTL(ttl));
  }

  setMulticastLoopback(on: boolean): void {
    this.setup("multicast loopback", () => this.h.setMulticastLoopback(on));
  }

  setMulticastInterface(iface: string): void {
    this.setup(`multicast interface ${iface}`, () => this.h.setMulticastInterface(iface));
  }

  setRecvBufferSize(bytes: number): number {
    return this.setup("SO_RCVBUF", () => this.h.setRecvBufferSize(bytes));
  }

  setSendBufferSize(bytes: number): number {
    return this.setup("SO_SNDBUF", () => this.h.setSendBufferSize(bytes));
  }

  send(batch: PacketBatch, dest = 0): number {
    this.checkOpen();
    const count = sendCount(batch);
    checkDestination(dest, this.destinations);
    return this.h.send(batch.buffer, batch.offsets, batch.lengths, count, dest);
  }

  receive(batch: PacketBatch, max?: number): number {
    this.checkOpen();
    const slots = receiveSlots(batch, max);
    const n = this.h.receive(batch.buffer, batch.offsets, batch.lengths, slots);
    batch.count = this.received = n;
    this.drained = n < slots;
    return n;
  }

  sourceOf(i: number): UdpAddress {
    this.checkOpen();
    if (!(Number.isInteger(i) && i >= 0 && i < this.received)) throw new UdpError("ERR_UDP_ARGUMENT", `no datagram ${i} in the last receive`);
    return this.h.sourceOf(i);
  }

  onReadable(onReadable: (() => void) | undefined): void {
    this.checkOpen();
    this.h.onReadable(onReadable ?? null);
  }

  stats(): UdpStats {
    return { io: "native", ...this.h.stats() };
  }

  close(): void {
    this.closed = true;
    this.h.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new UdpError("ERR_UDP_CLOSED", "the socket is closed");
  }

  /** A set-up call: refused after close, its failure an ERR_UDP_SETUP (or ERR_UDP_ARGUMENT for a bad argument). */
  private setup<T>(what: string, call: () => T): T {
    this.checkOpen();
    try {
      return call();
    } catch (e) {
      if ((e as { code?: unknown }).code === "ERR_INVALID_ARG") throw new UdpError("ERR_UDP_ARGUMENT", `${what}: ${(e as Error).message}`);
      throw setupError(what, e);
    }
  }
}
