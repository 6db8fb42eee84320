/**
 * The CLI's SRTP sender (demo and `send`): keyed by an MbmsSender (the session level: TEK events, switches
 * and key retirement) or with one fixed key; sends the synthetic source's packets, paced
 * every 2 ms and protected in batches, or each RTP packet given to `forward`, to every destination.
 */
import type dgram from "node:dgram";
import type { MbmsSender } from "../mbms/bmsc/index.js";
import { SrtpError, type PacketBatch, type SrtpContext, type SrtpStatus } from "../srtp/index.js";
import type { SyntheticSource } from "./synthetic-source.js";
import type { SenderReport } from "./status.js";
import { fixedKeyContext, type SrtpKey } from "./srtp-key.js";

/** Packets per protectBatch call: enough for the 4-lane HMAC, small next to the packet arena. */
const BATCH = 32;

/** What protects the sender's packets: an MbmsSender (MIKEY, MKI) or one fixed key (SDES, no MKI). */
interface Protector {
  readonly ready: boolean;
  readonly trailerLength: number;
  /** The SRTP length, or -1 if withheld (no usable key). */
  protect(buf: Uint8Array, len: number): number;
  /** False if the batch was withheld (nothing protected). */
  protectBatch(batch: PacketBatch): boolean;
  close(): void;
}

function fixedKeyProtector(ctx: SrtpContext): Protector {
  return {
    ready: true,
    trailerLength: ctx.trailerLength,
    protect: (buf, len) => ctx.protect(buf, len),
    protectBatch: (batch) => {
      ctx.protectBatch(batch);
      return true;
    },
    close: () => ctx.close(),
  };
}

export class Sender {
  private protector: Protector | undefined;
  private mbms: MbmsSender | undefined;
  private pace: ReturnType<typeof setInterval> | undefined;
  packets = 0;
  bytes = 0;

  /** RTP packets given to `forward` before the first TEK (not sent). */
  droppedUnkeyed = 0;
  private readonly offsets = new Int32Array(BATCH);
  private readonly lengths = new Int32Array(BATCH);

  /**
   * `source` undefined: nothing is paced; packets come through `forward` (e.g. RTP read from a UDP port).
   * `plain`: send RTP unprotected (a baseline for benchmarks: the same pacing and sockets, no SRTP).
   */
  constructor(
    private readonly sock: dgram.Socket,
    private readonly source: SyntheticSource | undefined,
    private readonly dests: ReadonlyArray<{ port: number; host: string }>,
    private readonly plain = false,
  ) {}

  /** Keys the sender from a service's TEK events (switching and retiring keys on schedule). */
  useMbms(mbms: MbmsSender): void {
    this.protector = this.mbms = mbms;
  }

  /** TEK switches so far (MIKEY keying). */
  get tekSwitches(): number {
    return this.mbms?.stats.tekSwitches ?? 0;
  }

  /** The sender's report; with MIKEY keying, its keys checked against the schedule up to now. */
  report(runMs: number): SenderReport {
    const r: SenderReport = { packets: this.packets, bytes: this.bytes, mbps: (this.bytes * 8) / 1e3 / Math.max(1, runMs), tekSwitches: this.tekSwitches };
    if (this.mbms) {
      const s = this.mbms.stats;
      r.keying = {
        state: s.state, tekSwitchesExpected: this.mbms.scheduleCheck().expected, withheld: s.withheld, withheldExpiredTgk: s.withheldExpiredTgk,
        installFailures: s.installFailures, installedKeys: s.installedKeys, peakInstalledKeys: s.peakInstalledKeys,
      };
    }
    return r;
  }

  /** Keys the sender with one fixed master key and no MKI; zeroes the caller's copy. */
  useKey(k: SrtpKey): void {
    this.protector = fixedKeyProtector(fixedKeyContext(k));
  }

  start(): void {
    if (!this.source) return;
    this.source.start(Date.now());
    this.pace = setInterval(() => this.tick(), 2);
  }

  /** Protects one plain RTP packet (SSRC and sequence number kept) and sends it to every destination. */
  forward(rtp: Uint8Array): boolean {
    if (!this.ready) {
      this.droppedUnkeyed++;
      return false;
    }
    // dgram keeps the buffer until the datagram is sent, hence a fresh one per packet.
    const buf = Buffer.allocUnsafe(rtp.length + this.trailerLength);
    buf.set(rtp);
    const n = this.plain ? rtp.length : this.protector!.protect(buf, rtp.length);
    if (n < 0) return false; // withheld: the MbmsSender counts it
    this.send(buf, 0, n, rtp.length);
    return true;
  }

  private get ready(): boolean {
    return this.plain || this.protector?.ready === true;
  }

  private get trailerLength(): number {
    return this.plain ? 0 : this.protector!.trailerLength;
  }

  /** `buf[at..at+n)` is one datagram (SRTP, or RTP with --plain) carrying `rtpLen` bytes of RTP. */
  private send(buf: Buffer, at: number, n: number, rtpLen: number): void {
    for (const d of this.dests) this.sock.send(buf, at, n, d.port, d.host);
    this.packets++;
    this.bytes += rtpLen;
  }

  /** Writes the packets due, protects them in batches (AES-CM each, tags four at a time) and sends them. */
  private tick(): void {
    const source = this.source;
    if (!source || (!this.plain && !this.protector)) return;
    const len = source.packetLength;
    // Not ready (no TEK in force, or the keying failed): the packets due are withheld, and counted.
    const stride = len + (this.ready ? this.trailerLength : 0);
    const { offsets, lengths } = this;
    for (let due = Math.min(source.due(Date.now()), 1000); due > 0;) {
      const count = Math.min(due, BATCH);
      // One buffer per batch: dgram keeps it until every datagram cut from it has been sent.
      const buf = Buffer.allocUnsafe(count * stride);
      for (let i = 0; i < count; i++) {
        offsets[i] = i * stride;
        lengths[i] = len;
        source.write(buf.subarray(i * stride, (i + 1) * stride));
      }
      due -= count;
      if (!this.plain && !this.protector!.protectBatch({ buffer: buf, offsets, lengths, count })) continue; // withheld, counted
      for (let i = 0; i < count; i++) {
        if (lengths[i]! < 0) throw SrtpError.fromStatus(-lengths[i]! as SrtpStatus); // as protect() would
        this.send(buf, offsets[i]!, lengths[i]!, len);
      }
    }
  }

  stop(): void {
    if (this.pace) clearInterval(this.pace);
    this.pace = undefined;
  }

  /** Stops and zeroes the keys (closing the MbmsSender given to useMbms). */
  close(): void {
    this.stop();
    this.protector?.close();
  }
}
