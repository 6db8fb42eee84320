/**
 * The batched UDP socket both I/O backends implement (native: the native/udp addon's sendmmsg/recvmmsg;
 * dgram: node:dgram, the fallback). Datagrams travel in the PacketBatch layout of SrtpContext.protectBatch
 * and unprotectBatch, so a batch goes from the socket to the SRTP batch path and back without a copy per
 * packet. I/O errors (EAGAIN, ENOBUFS, EMSGSIZE, ECONNREFUSED, …) are never thrown: they are counted per
 * errno name in stats(); only a malformed call throws (a UdpError, before any syscall).
 */
import type { PacketBatch } from "../srtp/batch.js";

export type UdpIo = "native" | "dgram";

export interface UdpAddress {
  address: string;
  port: number;
}

export interface UdpStats {
  io: UdpIo;
  /** Datagrams the system took, and the calls that sent them (native: sendmmsg syscalls; dgram: send() calls). */
  sentPackets: number;
  sendCalls: number;
  /** Native: messages that carried several datagrams by UDP GSO (UDP_SEGMENT). */
  gsoMessages: number;
  /** Datagrams given up after a send error (not EAGAIN: those are left to the caller). */
  dropped: number;
  receivedPackets: number;
  receiveCalls: number;
  /** Datagrams longer than their slot: reported with length 0. */
  truncated: number;
  /** GSO in use for batches of equal datagrams; if the kernel refused it, the errno name. */
  gso: boolean;
  gsoRefused: string | null;
  /** Counts per errno name (EAGAIN, EMSGSIZE, ENOBUFS, ECONNREFUSED, …). */
  errors: Record<string, number>;
}

export interface BatchUdpSocket {
  readonly io: UdpIo;
  address(): UdpAddress;
  /** Stores a destination once; send() names it by the index returned. */
  addDestination(host: string, port: number): number;
  addMembership(group: string, iface: string): void;
  setMulticastTTL(ttl: number): void;
  setMulticastLoopback(on: boolean): void;
  setMulticastInterface(iface: string): void;
  /** SO_RCVBUF / SO_SNDBUF (capped by net.core.rmem_max / wmem_max); returns what the kernel granted. */
  setRecvBufferSize(bytes: number): number;
  setSendBufferSize(bytes: number): number;
  /**
   * Sends datagrams 0..count-1 of `batch` to destination `dest`; the bytes may be reused as soon as it
   * returns. Returns how many were handled (sent, or dropped and counted); fewer than the batch's count
   * only when the socket's send buffer is full (EAGAIN): send the rest later, in order.
   */
  send(batch: PacketBatch, dest?: number): number;
  /**
   * Reads the datagrams waiting, up to `max` (default offsets.length): datagram i into the slot from
   * offsets[i] to offsets[i+1] (the last one to the buffer's end); sets lengths[i] and batch.count.
   * Returns how many were read (0: none waiting).
   */
  receive(batch: PacketBatch, max?: number): number;
  /** Whether the last receive() emptied the socket's queue. */
  readonly drained: boolean;
  /** The source of datagram i of the last receive(). */
  sourceOf(i: number): UdpAddress;
  /** `onReadable` runs on the event loop while datagrams wait (again, until they are read); undefined stops it. */
  onReadable(onReadable: (() => void) | undefined): void;
  stats(): UdpStats;
  /** Idempotent; stats() still answers afterwards, every other method throws ERR_UDP_CLOSED. */
  close(): void;
}

export interface BatchUdpOptions {
  /** Bind address and port (0: any free port). */
  host: string;
  port: number;
  /** SO_REUSEADDR, for several receivers of one multicast group on one port. */
  reuseAddr?: boolean;
  /** Native I/O: UDP GSO for batches of equal datagrams (default true); false forces plain sendmmsg. */
  gso?: boolean;
  /** Default: native when the addon is loaded (env MBMS_SRTP_UDP=dgram makes dgram the default). */
  io?: UdpIo;
}
