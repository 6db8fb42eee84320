/**
 * The fallback backend: the same batched socket over node:dgram (one send and one 'message' Buffer per
 * datagram, which is what the native backend saves). Received datagrams wait in a bounded queue until
 * receive() copies them into the caller's slots; readability is the end of the event-loop turn in which
 * libuv delivered them. send() copies the batch once (dgram keeps its buffer until the datagrams are out),
 * so the caller may reuse its bytes at once, as with the native backend.
 */
import dgram from "node:dgram";
import { isIPv4 } from "node:net";
import type { PacketBatch } from "../srtp/batch.js";
import { checkDestination, receiveSlots, sendCount } from "./batch-shape.js";
import { SocketSetup, type MulticastTarget } from "./socket-setup.js";
import { UdpError, setupError } from "./udp-error.js";
import type { BatchUdpOptions, BatchUdpSocket, UdpAddress, UdpStats } from "./udp-socket.js";

/** Datagrams held for receive(); more are dropped and counted as ENOBUFS (as a full socket buffer would). */
const QUEUE_MAX = 8192;
/** libuv reads at most this many datagrams per wake-up: a wake-up that read fewer emptied the kernel's queue. */
const LIBUV_READS_PER_WAKEUP = 32;

export class DgramUdp extends SocketSetup implements BatchUdpSocket {
  readonly io = "dgram" as const;
  private readonly queue: ({ msg: Buffer; from: dgram.RemoteInfo } | undefined)[] = [];
  private head = 0;
  private readonly last: dgram.RemoteInfo[] = [];
  private readonly destinations: { host: string; port: number }[] = [];
  private readable: (() => void) | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private turnReads = 0;
  private lastTurnReads = 0;
  private readonly st: UdpStats = {
    io: "dgram", sentPackets: 0, sendCalls: 0, gsoMessages: 0, dropped: 0, receivedPackets: 0, receiveCalls: 0, truncated: 0,
    gso: false, gsoRefused: null, errors: {},
  };
  private readonly onSent = (e: Error | null) => {
    if (!e) {
      this.st.sentPackets++;
      return;
    }
    this.st.dropped++;
    this.countError(e);
  };
  private readonly endOfTurn = () => {
    this.immediate = undefined;
    this.lastTurnReads = this.turnReads;
    this.turnReads = 0;
    if (this.readable && this.waiting > 0) this.readable();
    if (this.readable && this.waiting > 0) this.schedule(); // level-triggered, as the native backend's poll
  };

  private constructor(private readonly sock: dgram.Socket) {
    super();
    sock.on("message", (msg, from) => this.onMessage(msg, from));
    sock.on("error", (e) => this.countError(e));
  }

  static async open(o: BatchUdpOptions): Promise<DgramUdp> {
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: o.reuseAddr === true });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(o.port, o.host, () => {
        sock.off("error", reject);
        resolve();
      });
    }).catch((e: unknown) => {
      sock.close();
      throw setupError(`bind ${o.host}:${o.port}`, e);
    });
    return new DgramUdp(sock);
  }

  get drained(): boolean {
    return this.waiting === 0 && this.lastTurnReads < LIBUV_READS_PER_WAKEUP;
  }

  address(): UdpAddress {
    this.checkOpen();
    const a = this.sock.address();
    return { address: a.address, port: a.port };
  }

  addDestination(host: string, port: number): number {
    this.checkOpen();
    if (!isIPv4(host)) throw new UdpError("ERR_UDP_ARGUMENT", "host must be an IPv4 address");
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new UdpError("ERR_UDP_ARGUMENT", "port must be an integer in 1..65535");
    return this.destinations.push({ host, port }) - 1;
  }

  protected get target(): MulticastTarget {
    return this.sock;
  }

  setRecvBufferSize(bytes: number): number {
    return this.setup("SO_RCVBUF", () => {
      this.sock.setRecvBufferSize(bytes);
      return this.sock.getRecvBufferSize();
    });
  }

  setSendBufferSize(bytes: number): number {
    return this.setup("SO_SNDBUF", () => {
      this.sock.setSendBufferSize(bytes);
      return this.sock.getSendBufferSize();
    });
  }

  send(batch: PacketBatch, dest = 0): number {
    this.checkOpen();
    const count = sendCount(batch);
    checkDestination(dest, this.destinations.length);
    if (count === 0) return 0;
    const { buffer, offsets, lengths } = batch;
    const first = offsets[0]!;
    const copy = Buffer.from(buffer.subarray(first, offsets[count - 1]! + lengths[count - 1]!));
    const { host, port } = this.destinations[dest]!;
    for (let i = 0; i < count; i++) this.sock.send(copy, offsets[i]! - first, lengths[i]!, port, host, this.onSent);
    this.st.sendCalls += count;
    return count;
  }

  receive(batch: PacketBatch, max?: number): number {
    this.checkOpen();
    const slots = receiveSlots(batch, max);
    const { buffer, offsets, lengths } = batch;
    this.st.receiveCalls++;
    let n = 0;
    for (; n < slots && this.head < this.queue.length; n++) {
      const { msg, from } = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      const at = offsets[n]!, room = (n + 1 < slots ? offsets[n + 1]! : buffer.length) - at;
      if (msg.length > room) {
        this.st.truncated++;
        lengths[n] = 0;
      } else {
        buffer.set(msg, at);
        lengths[n] = msg.length;
      }
      this.last[n] = from;
    }
    if (this.head === this.queue.length) this.queue.length = this.head = 0;
    this.st.receivedPackets += n;
    batch.count = this.last.length = n;
    return n;
  }

  sourceOf(i: number): UdpAddress {
    this.checkOpen();
    const from = this.last[i];
    if (!Number.isInteger(i) || from === undefined) throw new UdpError("ERR_UDP_ARGUMENT", `no datagram ${i} in the last receive`);
    return { address: from.address, port: from.port };
  }

  onReadable(onReadable: (() => void) | undefined): void {
    this.checkOpen();
    this.readable = onReadable;
    if (this.waiting > 0) this.schedule();
  }

  stats(): UdpStats {
    return { ...this.st, errors: { ...this.st.errors } };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readable = undefined;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.queue.length = this.head = 0;
    this.sock.close();
  }

  private get waiting(): number {
    return this.queue.length - this.head;
  }

  private onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    if (this.closed) return;
    this.turnReads++;
    if (this.waiting >= QUEUE_MAX) {
      this.st.errors.ENOBUFS = (this.st.errors.ENOBUFS ?? 0) + 1;
      return;
    }
    this.queue.push({ msg, from });
    this.schedule();
  }

  private schedule(): void {
    this.immediate ??= setImmediate(this.endOfTurn);
  }

  private countError(e: Error): void {
    const code = (e as { code?: unknown }).code;
    const name = typeof code === "string" ? code : "EUNKNOWN";
    this.st.errors[name] = (this.st.errors[name] ?? 0) + 1;
  }


}
