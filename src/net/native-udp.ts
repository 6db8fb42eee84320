/**
 * The native backend: a thin layer over the native/udp addon (sendmmsg with UDP GSO, recvmmsg, libuv
 * readability). The shape of every batch is checked here first (batch-shape.ts), so a malformed call
 * throws a UdpError before the addon (which checks again, for its own memory safety) is entered.
 */
import type { PacketBatch } from "../srtp/batch.js";
import { checkDestination, receiveSlots, sendCount } from "./batch-shape.js";
import { SocketSetup, type MulticastTarget } from "./socket-setup.js";
import { UdpError, setupError } from "./udp-error.js";
import type { BatchUdpOptions, BatchUdpSocket, UdpAddress, UdpStats } from "./udp-socket.js";

/** The addon's socket (native/udp/src/addon.c): the set-up calls as BatchUdpSocket's, the I/O on raw batch arrays. */
export interface NativeHandle extends MulticastTarget, Pick<BatchUdpSocket, "address" | "addDestination" | "setRecvBufferSize" | "setSendBufferSize"> {
  bind(host: string, port: number): void;
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

export class NativeUdp extends SocketSetup implements BatchUdpSocket {
  readonly io = "native" as const;
  drained = true;
  private destinations = 0;
  private received = 0;

  private constructor(private readonly h: NativeHandle) {
    super();
  }

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

  protected get target(): MulticastTarget {
    return this.h;
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


}
