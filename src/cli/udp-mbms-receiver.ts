/**
 * UdpMbmsReceiver, the CLI's MBMS receiver (UE): a UDP socket, and a UeReceiver (the library's session level: key client, TEK
 * source, MkiEvaluator) keying itself over HTTP and decrypting every packet. ME mode: the ME holds the KEK.
 * UICC mode: a soft card in a worker thread holds it: the ME never does.
 * SDES mode: no key server, one fixed master key without MKI (FixedKeyDecryptor). Either way a Decryptor
 * turns datagrams into plain RTP, and the counting, checking and forwarding here are the same; in plain
 * mode (a benchmark baseline) the datagrams are RTP already. The sender's SSRC is not configured: each
 * SSRC's stream is learned from its first authenticated packet, a bounded number of them (received-streams.ts).
 */
import { openBatchUdp, type BatchUdpSocket, type UdpAddress, type UdpIo, type UdpStats } from "../net/batch-udp.js";
import type { PacketBatch } from "../srtp/batch.js";
import { UeReceiver, type UeReceiverOptions } from "../mbms/ue/index.js";
import type { UiccProxy } from "../mbms/uicc/index.js";
import { spawnCardWorker } from "../mbms/uicc/card-worker.js";
import { ReceivedStreams, type StreamReport } from "./received-streams.js";
import { mkiPrefix, type ReceiverReport } from "./status.js";
import type { Decryptor } from "./decryptor.js";
import { DatagramBatcher } from "./datagram-batcher.js";
import { PcapWriter } from "./pcap-writer.js";
import { FixedKeyDecryptor } from "./fixed-key-decryptor.js";
import type { SrtpKey } from "./srtp-key.js";

export type ReceiverConfig = ReceiverBase & (MikeyKeying | FixedKeying | PlainKeying);

/** ME and UICC modes: keyed over HTTP from the key server (MIKEY), decrypted through an MkiEvaluator. */
export interface MikeyKeying {
  mode: "ME" | "UICC";
  userId: string;
  /** ME mode: given to the KeyClient. UICC mode: provisioned into the card worker (copied) and not kept. */
  kek: Uint8Array;
  baseUrl: string;
  serviceId: string;
  rotationPeriodMs: number;
}

/** SDES mode: one fixed master key, no MKI (zeroed once installed). */
export interface FixedKeying {
  mode: "SDES";
  srtpKey: SrtpKey;
}

/** Plain mode: unprotected RTP (a benchmark baseline against `send --plain`): no keying, no SRTP, the same checks. */
export interface PlainKeying {
  mode: "PLAIN";
}

export interface ReceiverBase {
  name: string;
  payloadSize: number;
  /** Bound on the SSRCs (streams) learned (default MAX_STREAMS of received-streams.ts). */
  maxStreams?: number;
  /** Where to listen (default: an ephemeral port on 127.0.0.1). With `group`, joins that multicast group on
   * `iface` (default 127.0.0.1) and binds the port with SO_REUSEADDR so several receivers can share it. */
  listen?: { port: number; group?: string; iface?: string };
  /** Forward each decrypted packet (plain RTP) to this UDP address, and count packets by their RTP sequence
   * number (extended to 32 bits) instead of the synthetic source's payload (which is then not checked). */
  rtpOut?: { host: string; port: number };
  /** Write each decrypted packet to this pcap file (mode 0600), counted by RTP sequence number as with rtpOut. */
  pcapOut?: string;
  /** The socket's I/O (default: native when the addon is loaded, see src/net/batch-udp.ts). */
  io?: UdpIo;
}

/**
 * The CLI's and the demos' receivers (UDP and the browser's): TGK lifetimes of seconds, so re-keys may come
 * every 400 ms and retry fast. Packets held while a new MKI's TEK is derived (a card round trip can take
 * milliseconds under load): 512 covers ~25 ms of a 200 Mbit/s stream; still bounded against forged MKIs:
 * ≤ 2048 held, ≤ 4 MiB.
 */
export const CLI_RECEIVER_TUNING = {
  keyClient: { expiryMarginMs: 200, minRekeyIntervalMs: 400, backoffBaseMs: 100, backoffMaxMs: 800, maxAttempts: 8 },
  evaluator: { maxQueuedPerMki: 512, maxQueued: 2048, maxQueuedBytes: 4 << 20 },
} as const satisfies Pick<UeReceiverOptions, "keyClient" | "evaluator">;

export class UdpMbmsReceiver {
  /** One per SSRC, learned from its first authenticated packet (bounded). */
  private streams: ReceivedStreams;
  deliveredBytes = 0;
  keyDeliveries = 0;
  keyErrors: string[] = [];
  private ue: UeReceiver | undefined;
  private decryptor: Decryptor | undefined;
  private batcher: DatagramBatcher | undefined;
  /** Set once keyed if datagrams came before: the counters restart when the socket's queue is next emptied. */
  private countFromNextDrain = false;
  private datagramsRead = 0;
  /** Packets decrypted while joining (held while keying, or read before the socket's queue first emptied). */
  joinDelivered = 0;

  /** With a pcap file: the source of the last datagram of the batch (for the pcap file's IP/UDP headers). */
  private from: UdpAddress | undefined;
  private readonly localPort: number;
  /** With rtpOut: its destination on the socket, and a one-packet batch to send each decrypted packet. */
  private readonly outDest: number;
  private readonly outBatch = { buffer: new Uint8Array(0) as Uint8Array, offsets: new Int32Array(1), lengths: new Int32Array(1), count: 1 };

  private constructor(
    readonly cfg: ReceiverConfig,
    readonly socket: BatchUdpSocket,
    /** UICC mode: the card (a worker thread), provisioned with the KEK at open. */
    private readonly card: UiccProxy | undefined,
    private readonly pcap: PcapWriter | undefined,
  ) {
    this.localPort = socket.address().port;
    this.outDest = cfg.rtpOut ? socket.addDestination(cfg.rtpOut.host, cfg.rtpOut.port) : -1;
    this.streams = new ReceivedStreams(cfg.payloadSize, cfg.rtpOut !== undefined || pcap !== undefined, cfg.maxStreams);
  }

  get delivered(): number {
    return this.streams.delivered;
  }

  /** Packets that are not what their stream's sender writes, and authenticated packets of SSRCs past the bound. */
  get badPackets(): number {
    return this.streams.badPackets + this.streams.refused;
  }

  get duplicates(): number {
    return this.streams.duplicates;
  }

  /** The first stream's lowest and highest packet numbers delivered (-1 before the first). */
  get firstPacket(): number {
    return this.streams.firstPacket;
  }

  get lastPacket(): number {
    return this.streams.lastPacket;
  }

  /** Each stream's packet numbers from its first to its last, summed (what its sender sent while counting). */
  get span(): number {
    return this.streams.span;
  }

  /** The streams learned: SSRC and counts. */
  streamReports(): StreamReport[] {
    return this.streams.report();
  }

  /** The socket's counters (backend, datagrams, errors per errno). */
  ioStats(): UdpStats {
    return this.socket.stats();
  }

  get port(): number {
    return this.localPort;
  }

  static async open(cfg: ReceiverConfig): Promise<UdpMbmsReceiver> {
    const pcap = cfg.pcapOut === undefined ? undefined : new PcapWriter(cfg.pcapOut); // before anything to release
    try {
      return await UdpMbmsReceiver.bind(cfg, pcap);
    } catch (e) {
      pcap?.close();
      throw e;
    }
  }

  private static async bind(cfg: ReceiverConfig, pcap: PcapWriter | undefined): Promise<UdpMbmsReceiver> {
    const l = cfg.listen;
    // A multicast receiver binds the group address (only that group's datagrams), else 127.0.0.1.
    const socket = await openBatchUdp({ host: l?.group ?? "127.0.0.1", port: l?.port ?? 0, reuseAddr: l?.group !== undefined, io: cfg.io });
    try {
      if (l?.group !== undefined) socket.addMembership(l.group, l.iface ?? "127.0.0.1");
    } catch (e) {
      socket.close();
      throw e;
    }
    try {
      socket.setRecvBufferSize(8 << 20); // capped by net.core.rmem_max
    } catch {
      // keep the default
    }
    return new UdpMbmsReceiver(cfg, socket, provisionCard(cfg), pcap);
  }

  /**
   * Initial keying, then packets are decrypted as they arrive. Joining a running stream, counting starts
   * once keyed and caught up: while the process keys itself (an HTTP exchange, first-time compilation) it
   * reads little, and at a high rate the kernel's socket buffer overflows; the evaluator's queue of packets
   * that came before the key is bounded too. Those losses belong to joining, not to the stream, so the
   * counters restart at the first event-loop turn after keying that empties the socket's queue.
   */
  async start(): Promise<void> {
    const c = this.cfg;
    if (c.mode === "PLAIN") {
      this.read((b) => eachPacket(b, (p) => this.onPacket(p)));
      return;
    }
    if (c.mode === "SDES") {
      this.listen(new FixedKeyDecryptor(c.srtpKey, (p) => this.onPacket(p)));
      return;
    }
    const ue = new UeReceiver({
      baseUrl: c.baseUrl, serviceId: c.serviceId, userId: c.userId, rotationPeriodMs: c.rotationPeriodMs,
      // The card is this receiver's (provisioned at open, closed in close()).
      keying: c.mode === "UICC" ? { mode: "UICC", card: this.card!, closeCard: false } : { mode: "ME", kek: c.kek },
      onPacket: (p) => this.onPacket(p),
      ...CLI_RECEIVER_TUNING,
      onDelivery: () => {
        this.keyDeliveries++;
      },
      onError: (e) => {
        this.keyErrors.push(e.code);
      },
    });
    this.ue = ue;
    this.listen(ue.evaluator);
    await ue.start();
    await ue.settled();
    // Nothing read yet (the stream starts after keying, as in the demo): nothing to leave out.
    this.countFromNextDrain = this.datagramsRead > 0;
  }

  private listen(d: Decryptor): void {
    this.decryptor = d;
    this.read(d.receiveBatch === undefined ? (b) => eachPacket(b, (p) => d.receive(p, p.length)) : (b) => d.receiveBatch!(b));
  }

  /** Reads the socket in batches (DatagramBatcher) into `sink`; restarts the counters when asked and drained. */
  private read(sink: (batch: PacketBatch) => void): void {
    const batcher = new DatagramBatcher(this.socket, (b) => {
      this.datagramsRead += b.count!;
      if (this.pcap) this.from = this.socket.sourceOf(b.count! - 1);
      sink(b);
    }, () => {
      if (!this.countFromNextDrain) return;
      this.countFromNextDrain = false;
      this.resetCounts();
    });
    this.batcher = batcher;
    batcher.start();
  }

  private resetCounts(): void {
    this.joinDelivered = this.delivered;
    this.streams.reset();
    this.deliveredBytes = 0;
  }

  private onPacket(p: Uint8Array): void {
    if (!this.streams.place(p)) return; // counted there
    if (this.cfg.rtpOut) this.forward(p);
    this.pcap?.write(p, this.from?.address ?? "0.0.0.0", this.from?.port ?? 0, this.cfg.listen?.group ?? "127.0.0.1", this.localPort, Date.now());
    if (this.streams.commit()) this.deliveredBytes += p.length;
  }

  /** Sends a decrypted packet to rtpOut (the socket copies it; EAGAIN and other errors are counted there). */
  private forward(p: Uint8Array): void {
    const b = this.outBatch;
    b.buffer = p;
    b.lengths[0] = p.length;
    this.socket.send(b, this.outDest);
  }

  /** Waits for TEK derivations in flight (queued packets are delivered or dropped). */
  async settled(): Promise<void> {
    await this.decryptor?.settled();
  }

  report(sent: number, mbps: number): ReceiverReport {
    const s = this.decryptor?.stats;
    return {
      name: this.cfg.name, mode: this.cfg.mode, delivered: this.delivered, lost: Math.max(0, sent - this.delivered),
      badPackets: this.badPackets, duplicates: this.duplicates,
      authFailed: s?.authFailed ?? 0, replayed: s?.replayed ?? 0, refused: s?.refused ?? 0, queuedDropped: s?.queuedDropped ?? 0,
      switches: s?.switches ?? 0, keyDeliveries: this.keyDeliveries, rekeys: Math.max(0, this.keyDeliveries - 1),
      keyErrors: this.keyErrors.length, mbps, mkiPrefix: mkiPrefix(s?.currentMki),
    };
  }

  async close(): Promise<void> {
    this.batcher?.close();
    this.socket.close();
    this.pcap?.close();
    if (this.ue) await this.ue.close();
    else this.decryptor?.close();
    await this.card?.close();
  }
}

/** Hands each datagram of `batch` (a view into its buffer) to `f`, in order. */
function eachPacket(batch: PacketBatch, f: (p: Uint8Array) => void): void {
  for (let i = 0; i < batch.count!; i++) {
    const at = batch.offsets[i]!;
    f(batch.buffer.subarray(at, at + batch.lengths[i]!));
  }
}

/** UICC mode: a soft card in a worker thread, provisioned with the KEK, which the ME then zeroes. */
function provisionCard(cfg: ReceiverConfig): UiccProxy | undefined {
  if (cfg.mode !== "UICC") return undefined;
  const card = spawnCardWorker(cfg.kek); // the worker got its own copy: the ME keeps none
  cfg.kek.fill(0);
  return card;
}
