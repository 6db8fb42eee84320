/**
 * The CLI's SRTP sender (demo and `send`): keyed from the SessionManager's TEK events (switching to each new
 * MKI when its TEK_RAND2 period starts) or with one fixed key; sends the synthetic source's packets, paced
 * every 2 ms and protected in batches, or each RTP packet given to `forward`, to every destination.
 */
import type dgram from "node:dgram";
import type { TekEvent } from "../mbms/bmsc/index.js";
import { SrtpContext, SrtpError, type SrtpStatus } from "../srtp/index.js";
import type { SyntheticSource } from "./synthetic-source.js";
import { fixedKeyContext, type SrtpKey } from "./srtp-key.js";

/** Packets per protectBatch call: enough for the 4-lane HMAC, small next to the packet arena. */
const BATCH = 32;

export class Sender {
  ctx: SrtpContext | undefined;
  private sendMki: string | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private pace: ReturnType<typeof setInterval> | undefined;
  packets = 0;
  bytes = 0;
  tekSwitches = 0;

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

  onTek = (e: TekEvent): void => {
    // Copies: the manager zeroes masterKey/masterSalt once the listeners return.
    const init = { key: e.masterKey.slice(), salt: e.masterSalt.slice(), mki: e.mki.slice() };
    if (!this.ctx) this.ctx = new SrtpContext({ profile: "AES_CM_128_HMAC_SHA1_80", keys: [init] });
    else if (!this.ctx.hasKey(init.mki)) this.ctx.addKey(init);
    init.key.fill(0);
    init.salt.fill(0);
    const id = Buffer.from(init.mki).toString("hex");
    const switchNow = () => {
      if (!this.ctx || this.sendMki === id) return;
      this.ctx.setSendKey(init.mki);
      if (this.sendMki !== undefined) this.tekSwitches++;
      this.sendMki = id;
    };
    const delay = e.startsAt - Date.now();
    if (delay <= 0 || this.sendMki === undefined) switchNow();
    else {
      const t = setTimeout(() => {
        this.timers.delete(t);
        switchNow();
      }, delay);
      this.timers.add(t);
    }
  };

  /** Keys the sender with one fixed master key and no MKI instead of TEK events; zeroes the caller's copy. */
  useKey(k: SrtpKey): void {
    this.ctx = fixedKeyContext(k);
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
    this.send(buf, 0, this.plain ? rtp.length : this.ctx!.protect(buf, rtp.length), rtp.length);
    return true;
  }

  private get ready(): boolean {
    return this.plain || this.ctx !== undefined;
  }

  private get trailerLength(): number {
    return this.plain ? 0 : this.ctx!.trailerLength;
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
    if (!this.ready || !source) return;
    const len = source.packetLength;
    const stride = len + this.trailerLength;
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
      if (!this.plain) this.ctx!.protectBatch({ buffer: buf, offsets, lengths, count });
      for (let i = 0; i < count; i++) {
        if (lengths[i]! < 0) throw SrtpError.fromStatus(-lengths[i]! as SrtpStatus); // as protect() would
        this.send(buf, offsets[i]!, lengths[i]!, len);
      }
      due -= count;
    }
  }

  stop(): void {
    if (this.pace) clearInterval(this.pace);
    this.pace = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
