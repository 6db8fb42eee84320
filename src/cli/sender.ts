/**
 * The CLI's SRTP sender (demo and `send`): keyed by an MbmsSender (the session level: TEK events, switches
 * and key retirement) or with one fixed key; sends the synthetic source's packets, paced
 * every 2 ms and protected in batches, or each RTP packet given to `forward`, to every destination.
 * The per-packet work in JavaScript is the source writing into the batch buffer: pacing is once per tick,
 * the counters once per batch, and the batch objects are made once.
 * A protected batch goes to the socket as it is (native I/O: sendmmsg, with UDP GSO); what the socket
 * could not take (its send buffer full, EAGAIN) is sent first at the next tick, in order, before anything new.
 * With crypto workers (usePool, MIKEY keying): the source writes straight into the pool's shared batch
 * slots, the MbmsSender admits each batch (the send key, withholding), the workers protect it, and the
 * batches go to the socket in submission order as they come back: this thread paces, admits and sends.
 */
import type { BatchUdpSocket } from "../net/batch-udp.js";
import type { MbmsSender } from "../mbms/bmsc/index.js";
import { SrtpError, type PacketBatch, type SrtpContext, type SrtpStatus } from "../srtp/index.js";
import type { SyntheticSource } from "./synthetic-source.js";
import type { SenderReport } from "./status.js";
import { fixedKeyContext, type SrtpKey } from "./srtp-key.js";
import { PoolKeys } from "./pool-keys.js";

/** Packets per protectBatch call: enough for the 4-lane HMAC, small next to the packet arena. */
const BATCH = 32;
/** Room for the SRTP trailer (MKI + tag) after each packet of a crypto pool's batch slot. */
const POOL_TRAILER_ROOM = 32;

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
  /** With crypto workers: the pool, its key changes, and the protected batches not yet sent (in order). */
  private keys: PoolKeys | undefined;
  private readonly protectedBatches: PacketBatch[] = [];
  /**
   * Pool slots handed to the pool and not yet all sent. The pool frees a slot as soon as it has collected
   * its results, which can be before its batch is sent (its promise callback not run yet): a slot in here is
   * never filled again, nor used for a key change, until it is sent.
   */
  private readonly unsent = new Set<PacketBatch>();
  private pace: ReturnType<typeof setInterval> | undefined;
  packets = 0;
  bytes = 0;

  /** RTP packets given to `forward` before the first TEK (not sent). */
  droppedUnkeyed = 0;
  /** The batch, reused (the socket copies what it sends); its buffer grown if the packets grow. */
  private readonly batch = { buffer: new Uint8Array(0), offsets: new Int32Array(BATCH), lengths: new Int32Array(BATCH), count: 0 };
  /** Bytes from one packet's offset to the next in `batch` (0: not laid out yet). */
  private stride = 0;
  /** What a destination has still to take of the current batch after a short send (EAGAIN). */
  private readonly rest = { buffer: this.batch.buffer as Uint8Array, offsets: new Int32Array(BATCH), lengths: new Int32Array(BATCH), count: 0 };
  /** The batch being sent: `batch`, or with crypto workers the pool slot whose results came back first. */
  private out: PacketBatch = this.batch;
  /** Datagrams of the current batch, and how many of them each destination has taken so far. */
  private pending = 0;
  private readonly taken: number[];
  private readonly destIds: number[];
  /** Scratch for forward(): one packet. */
  private one = { buffer: new Uint8Array(0), offsets: new Int32Array(1), lengths: new Int32Array(1), count: 1 };

  /**
   * `source` undefined: nothing is paced; packets come through `forward` (e.g. RTP read from a UDP port).
   * `plain`: send RTP unprotected (a baseline for benchmarks: the same pacing and sockets, no SRTP).
   */
  constructor(
    private readonly sock: BatchUdpSocket,
    private readonly source: SyntheticSource | undefined,
    dests: ReadonlyArray<{ port: number; host: string }>,
    private readonly plain = false,
  ) {
    this.destIds = dests.map((d) => sock.addDestination(d.host, d.port));
    this.taken = this.destIds.map(() => 0);
  }

  /** Keys the sender from a service's TEK events (switching and retiring keys on schedule). */
  useMbms(mbms: MbmsSender): void {
    this.protector = this.mbms = mbms;
  }

  /**
   * Protects the synthetic source's packets in `workers` crypto workers instead of this thread: call
   * before useMbms, and give the returned key mirror to the MbmsSender (MbmsSenderOptions.keyMirror).
   */
  usePool(workers: number): PoolKeys {
    if (!this.source || this.plain) throw new SrtpError("ERR_CONFIG", "crypto workers protect the synthetic source's SRTP packets only");
    this.keys = new PoolKeys(workers, BATCH, BATCH * (this.source.packetLength + POOL_TRAILER_ROOM));
    return this.keys;
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

  /**
   * Protects one plain RTP packet (SSRC and sequence number kept) and sends it to every destination. False
   * if it was not sent: no key yet (counted in droppedUnkeyed), withheld, or the socket was full (EAGAIN,
   * counted by the socket).
   */
  forward(rtp: Uint8Array): boolean {
    if (!this.ready) {
      this.droppedUnkeyed++;
      return false;
    }
    const one = this.one;
    if (one.buffer.length < rtp.length + this.trailerLength) one.buffer = new Uint8Array(rtp.length + this.trailerLength);
    one.buffer.set(rtp);
    const n = this.plain ? rtp.length : this.protector!.protect(one.buffer, rtp.length);
    if (n < 0) return false; // withheld: the MbmsSender counts it
    one.lengths[0] = n;
    let sent = true;
    for (const d of this.destIds) sent = this.sock.send(one, d) === 1 && sent;
    if (sent) {
      this.packets++;
      this.bytes += rtp.length;
    }
    return sent;
  }

  private get ready(): boolean {
    return this.plain || this.protector?.ready === true;
  }

  private get trailerLength(): number {
    return this.plain ? 0 : this.protector!.trailerLength;
  }

  /** Writes the packets due, protects them in batches (AES-CM each, tags four at a time) and sends them. */
  private tick(): void {
    const source = this.source;
    if (this.keys) return this.poolTick(source!, this.keys, this.mbms!);
    if (!source || (!this.plain && !this.protector)) return;
    if (!this.flush()) return; // the socket is still full: nothing new before the rest of the last batch
    // Not ready (no TEK in force, or the keying failed): the packets due are withheld, and counted.
    const batch = this.layOut(source.packetLength + (this.ready ? this.trailerLength : 0));
    for (let due = Math.min(source.due(Date.now()), 1000); due > 0;) {
      const count = Math.min(due, BATCH);
      source.writeBatch(batch, count);
      due -= count;
      if (!this.plain && !this.protector!.protectBatch(batch)) continue; // withheld, counted
      checkProtected(batch);
      this.pending = count;
      this.taken.fill(0);
      if (!this.flush()) return;
    }
  }

  /**
   * With crypto workers: sends the batches back from the pool first (nothing new while the socket is full),
   * applies waiting key changes once nothing is in flight (a batch boundary), then fills the pool's free
   * slots with the packets due, each batch admitted by the MbmsSender (else withheld, its slot not used).
   */
  private poolTick(source: SyntheticSource, keys: PoolKeys, mbms: MbmsSender): void {
    if (keys.failure !== undefined) throw PoolKeys.asError(keys.failure);
    if (!this.sendProtected()) return;
    // A switch due now is made before any packet is written: it goes to the workers before the next batch.
    // (One that falls due between here and admit() below applies from the next boundary on, like a timed
    // switch while batches are in flight: a batch admitted before it goes out under the key it replaces.)
    mbms.refresh();
    if (!keys.applyAtBoundary(this.unsent.size === 0)) return;
    const pool = keys.ready!;
    const stride = mbms.ready ? source.packetLength + mbms.trailerLength : source.packetLength;
    if (stride > source.packetLength + POOL_TRAILER_ROOM) throw new SrtpError("ERR_TOO_LONG", "the SRTP trailer is longer than the crypto pool's slots leave room for");
    for (let due = Math.min(source.due(Date.now()), 1000); due > 0 && this.unsent.size < pool.depth;) {
      const slot = pool.slotBatch();
      if (!slot || this.unsent.has(slot)) return;
      const count = Math.min(due, BATCH);
      for (let i = 0; i < count; i++) slot.offsets[i] = i * stride;
      source.writeBatch(slot, count);
      due -= count;
      if (!mbms.admit(count)) continue; // withheld, counted; the slot is filled again next
      this.unsent.add(slot);
      pool.run(slot).then(() => this.onProtected(slot), (e: unknown) => (keys.failure ??= e));
    }
  }

  /**
   * A batch back from the pool (in submission order): sent at once unless earlier ones still wait, and its
   * slot refilled with packets due (the pool's depth, not the 2 ms tick, bounds the rate).
   */
  private onProtected(batch: PacketBatch): void {
    if (!this.pace) return; // stopped: nothing more is sent
    this.protectedBatches.push(batch);
    this.poolTick(this.source!, this.keys!, this.mbms!);
  }

  /** Sends the pool's protected batches in order; true once all are sent (false: the socket is full). */
  private sendProtected(): boolean {
    for (;;) {
      if (this.pending > 0) {
        if (!this.flush()) return false;
        this.unsent.delete(this.out); // all of it sent: its slot may be filled again
      }
      const next = this.protectedBatches.shift();
      if (!next) return true;
      checkProtected(next);
      this.out = next;
      this.pending = next.count!;
      this.taken.fill(0);
    }
  }

  /** The batch with packet slots `stride` bytes apart (the buffer grown, the offsets set, when it changes). */
  private layOut(stride: number): PacketBatch {
    const batch = this.batch;
    if (stride === this.stride) return batch;
    this.stride = stride;
    if (batch.buffer.length < BATCH * stride) this.rest.buffer = batch.buffer = new Uint8Array(BATCH * stride);
    for (let i = 0; i < BATCH; i++) batch.offsets[i] = i * stride;
    return batch;
  }

  /** Sends what every destination has not taken yet of the current batch; true once all have all of it. */
  private flush(): boolean {
    const count = this.pending;
    if (count === 0) return true;
    const { out: batch, taken } = this;
    let done = true;
    for (let d = 0; d < this.destIds.length; d++) {
      const from = taken[d]!;
      if (from === count) continue;
      taken[d] = from + this.sock.send(from === 0 ? batch : this.restFrom(from), this.destIds[d]);
      done &&= taken[d] === count;
    }
    if (!done) return false;
    this.packets += count;
    this.bytes += count * this.source!.packetLength;
    this.pending = 0;
    return true;
  }

  /** Packets from..pending-1 of the current batch, as a batch of their own (copied offsets, same buffer). */
  private restFrom(from: number): PacketBatch {
    const { out: batch, rest } = this;
    rest.buffer = batch.buffer;
    rest.count = this.pending - from;
    for (let i = 0; i < rest.count; i++) {
      rest.offsets[i] = batch.offsets[from + i]!;
      rest.lengths[i] = batch.lengths[from + i]!;
    }
    return rest;
  }

  stop(): void {
    if (this.pace) clearInterval(this.pace);
    this.pace = undefined;
  }

  /** Stops and zeroes the keys (closing the MbmsSender given to useMbms, and the crypto workers: drained first). */
  async close(): Promise<void> {
    this.stop();
    this.protector?.close();
    await this.keys?.close();
  }
}

/** Throws a packet's refusal in a protected batch, as protect() would. */
function checkProtected(batch: PacketBatch): void {
  const { lengths } = batch;
  for (let i = 0; i < batch.count!; i++) {
    if (lengths[i]! < 0) throw SrtpError.fromStatus(-lengths[i]! as SrtpStatus);
  }
}
