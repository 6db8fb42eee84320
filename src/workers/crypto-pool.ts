/**
 * SRTP protect or unprotect off the I/O thread: a pool of N worker_threads, each with its own WASM core
 * and IndexedBatchCrypto keyed identically, fed through one SharedArrayBuffer BatchRing per worker
 * (Atomics.wait in the worker, Atomics.waitAsync here; no postMessage per batch, nothing allocated per
 * packet). Batches go round-robin to the workers; results come back strictly in submission order: batch
 * k's promise settles, and its results land in the caller's batch, before batch k+1's, whichever worker
 * finished first.
 *
 * Index and replay state never leave this thread (SrtpIndexAuthority). Send: the index (ROC ‖ SEQ) of
 * every packet is decided here in packet order before its batch is handed out, so the output is byte for
 * byte SrtpContext.protectBatch's. Receive (RFC 3711 §3.3.2): the replay check runs here before the
 * batch goes out (known replays are never verified); the worker verifies the tag under the index given
 * and decrypts, committing nothing; then here, in packet order, each verified packet is checked against
 * the window again and only then committed. A replay verified in parallel with its original (in the
 * other worker, or later in the same batch) fails that second check: refused whichever worker had it,
 * its decrypted bytes never reach a copied batch. A forged packet never moves the window. The index of
 * a packet is estimated from the state committed before its batch went out (like unprotectBatch's
 * 4-lane guess), which is exact unless a stream jumps by about 2^15 while batches are in flight.
 * Where SrtpContext checks the key first, the pool checks the replay window first (it has no keys): a
 * replay under a removed key reads ERR_REPLAY, not ERR_UNKNOWN_MKI; and a sender pool spends an index
 * on a packet its worker then refuses for want of a send key.
 *
 * Key changes (addKey, removeKey, setSendKey) are ring ops too, queued on every worker: they apply to
 * every batch submitted after the call and to none before (a defined batch boundary). close() drains,
 * has every worker zero its keys and ring, terminates them and zeroes the shared memory. A worker that
 * dies fails the pool: pending and later calls reject with SrtpError ERR_WORKER.
 */
import { Worker } from "node:worker_threads";
import { checkBatch, type PacketBatch } from "../srtp/batch.js";
import { SrtpError, SrtpStatus, type SrtpErrorCode } from "../srtp/errors.js";
import { SrtpIndexAuthority } from "../srtp/index-authority.js";
import { resolveOptions, type MasterKeyInit, type ResolvedOptions, type SrtpContextOptions } from "../srtp/options.js";
import { readSsrc, rtpHeaderLength } from "../srtp/rtp-header.js";
import {
  BatchRing, CTL_ARG0, CTL_ERROR, CTL_OP, CTL_RESULT, DONE, FREE, OP_ADD_KEY, OP_CLOSE, OP_PROTECT,
  OP_REMOVE_KEY, OP_SET_SEND_KEY, OP_UNPROTECT, WORK, type RingShape, type RingSlot,
} from "./batch-ring.js";
import type { CryptoWorkerData } from "./crypto-worker.js";
import { PendingQueue } from "./pending-queue.js";

export interface CryptoPoolOptions {
  direction: "protect" | "unprotect";
  /** Crypto workers (1 or more). */
  workers: number;
  /** The context every worker builds (profile, keys, replay window, allowRepeatTx); kdr must be 0. */
  context: SrtpContextOptions;
  /** Batch slots per worker (default 4): the pool holds up to workers × slots batches in flight. */
  slots?: number;
  /** Packets per batch, at most (default 64). */
  maxPackets?: number;
  /** Bytes of a batch, at most: its last packet's end, trailer included (default 64 × 2048). */
  slotBytes?: number;
  /** The worker script (default: crypto-worker.js next to this module, i.e. in dist/). */
  workerUrl?: URL | string;
}

const CLOSE_TIMEOUT_MS = 2_000;

/** Atomics.waitAsync (Node ≥ 16; in the ES2024 lib, newer than this project's ES2022 one). */
type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs?: number) =>
  { async: false; value: "not-equal" | "timed-out" } | { async: true; value: Promise<"ok" | "timed-out"> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class SrtpCryptoPool {
  private readonly authority: SrtpIndexAuthority;
  private readonly queue: PendingQueue;
  private next = 0;
  private readonly cursor: Int32Array;
  private failure: SrtpError | undefined;
  private closed = false;
  /** Set once the Close ops are out: the workers' exits from then on are expected. */
  private stopping = false;
  private waiting = false;

  private constructor(
    private readonly protect: boolean,
    private readonly trailer: number,
    private readonly workers: Worker[],
    private readonly rings: BatchRing[],
    { replayWindow, allowRepeatTx, maxStreams }: ResolvedOptions,
  ) {
    this.authority = new SrtpIndexAuthority(replayWindow, allowRepeatTx, maxStreams);
    this.queue = new PendingQueue(rings.length * rings[0]!.shape.slots);
    this.cursor = new Int32Array(rings.length);
  }

  /** Starts the workers and resolves once every one is keyed; the key bytes sent are zeroed on both sides. */
  static async start(options: CryptoPoolOptions): Promise<SrtpCryptoPool> {
    const n = options.workers;
    if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new SrtpError("ERR_CONFIG", "workers must be an integer in 1..64");
    const resolved = resolveOptions(options.context);
    if (resolved.kdr !== 0) throw new SrtpError("ERR_CONFIG", "the batch API needs key_derivation_rate 0");
    const shape: RingShape = { slots: options.slots ?? 4, maxPackets: options.maxPackets ?? 64, slotBytes: options.slotBytes ?? 64 * 2048 };
    if (!Object.values(shape).every((v) => Number.isInteger(v) && v >= 1)) throw new SrtpError("ERR_CONFIG", "slots, maxPackets and slotBytes are positive integers");
    const rings = Array.from({ length: n }, () => BatchRing.create(shape));
    const url = options.workerUrl ?? new URL("./crypto-worker.js", import.meta.url);
    const workers = rings.map((ring) => {
      const keys = options.context.keys.map((k) => ({ key: k.key.slice(), salt: k.salt.slice(), mki: k.mki?.slice() }));
      const workerData: CryptoWorkerData = { mbmsSrtpCryptoWorker: 1, sab: ring.sab, shape, context: { ...options.context, keys } };
      const worker = new Worker(url, { workerData });
      for (const k of keys) (k.key.fill(0), k.salt.fill(0));
      return worker;
    });
    const pool = new SrtpCryptoPool(options.direction === "protect", resolved.mkiLength + resolved.profile.srtpTagLength, workers, rings, resolved);
    try {
      await Promise.all(workers.map((w, i) => new Promise<void>((resolve, reject) => {
        w.once("message", () => resolve());
        w.once("error", (e) => reject(workerError(i, e.message)));
        w.once("exit", (code) => reject(workerError(i, `exited (code ${code}) before it was keyed`)));
      })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      for (const r of rings) r.wipe();
      throw e;
    }
    workers.forEach((w, i) => {
      w.on("error", (e) => pool.fail(workerError(i, e.message)));
      w.on("exit", (code) => pool.fail(workerError(i, `exited (code ${code})`)));
    });
    return pool;
  }

  /** Batches (and key ops, one per worker) that can be in flight at once. */
  get depth(): number {
    return this.queue.capacity;
  }

  /** Entries in flight (a key op counts once per worker). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * The batch of the slot the next run() fills, to write packets into in place (shared memory: up to
   * maxPackets packets, slotBytes bytes; set `count`), or undefined while that slot is in flight. Passed
   * to run(), it is neither copied in nor out: its results are in it when run() settles, and stay valid
   * until the pool hands the slot out again, depth batches later. A packet refused at the replay commit
   * has been decrypted there: only its (negative) length says so.
   */
  slotBatch(): (PacketBatch & { count: number }) | undefined {
    this.checkUsable();
    const ring = this.rings[this.next]!;
    const s = this.cursor[this.next]!;
    return Atomics.load(ring.state, s) === FREE ? ring.slots[s]!.batch : undefined;
  }

  /**
   * Hands `batch` to the next worker and resolves with the packets protected (or accepted) once its
   * results are in `batch` (lengths, bytes), in submission order. Leave the batch alone until then.
   * ERR_BUSY when the next worker's ring is full: await an earlier batch first.
   */
  run(batch: PacketBatch): Promise<number> {
    this.checkUsable();
    const count = checkBatch(batch);
    const w = this.next;
    const ring = this.rings[w]!;
    const s = this.cursor[w]!;
    if (Atomics.load(ring.state, s) !== FREE) throw new SrtpError("ERR_BUSY", "the pool is full: await an earlier batch first");
    const slot = ring.slots[s]!;
    const { buffer, offsets, lengths } = batch;
    const grow = this.protect ? this.trailer : 0;
    const span = count === 0 ? 0 : Math.min(buffer.length, offsets[count - 1]! + lengths[count - 1]! + grow);
    if (count > ring.shape.maxPackets) throw new SrtpError("ERR_ARGUMENT", `a batch holds at most ${ring.shape.maxPackets} packets`);
    if (span > ring.shape.slotBytes) throw new SrtpError("ERR_TOO_LONG", "batch larger than the pool's slot", SrtpStatus.TooLong);
    const inPlace = batch === slot.batch;
    if (!inPlace) slot.batch.buffer.set(buffer.subarray(0, span));
    for (let i = 0; i < count; i++) {
      const at = offsets[i]!, len = lengths[i]!;
      if (!inPlace) {
        slot.batch.offsets[i] = at;
        slot.batch.lengths[i] = len;
      }
      if (this.protect) slot.indices[i] = this.sendIndex(buffer, at, len, i + 1 < count ? offsets[i + 1]! : buffer.length);
      else slot.indices[i] = this.authority.place(buffer, at, len, slot.nextRoc, i);
    }
    slot.batch.count = count;
    slot.ctl[CTL_ARG0] = count;
    return this.submit(w, s, this.protect ? OP_PROTECT : OP_UNPROTECT, batch, span);
  }

  /** Installs a key on every worker, for the batches submitted from now on. */
  addKey(init: MasterKeyInit): Promise<void> {
    const mki = init.mki ?? new Uint8Array(0);
    return this.keyOp(OP_ADD_KEY, [init.key, init.salt, mki]);
  }

  /** Removes (and zeroes) a key on every worker, from the next batch on. */
  removeKey(mki: Uint8Array): Promise<void> {
    return this.keyOp(OP_REMOVE_KEY, [mki]);
  }

  /** Selects the send key on every worker, from the next batch on. */
  setSendKey(mki: Uint8Array): Promise<void> {
    return this.keyOp(OP_SET_SEND_KEY, [mki]);
  }

  /** Each SSRC with its ROC, as SrtpContext.sendStreams (indices are decided here, so the ROCs are here). */
  sendStreams(): { ssrc: number; roc: number }[] {
    return this.authority.rocs();
  }

  /**
   * Sets the ROC of `ssrc` from key management (MIKEY's CS map; RFC 3711 §3.3.1), as SrtpContext.setRoc
   * does: it holds for every batch submitted from now on (indices are decided here, at submission). On
   * receive it has SrtpContext's one ROC of slack: until the stream reaches the signalled ROC, a tag that
   * fails under it is tried under the next one (the worker), and the index it verified under is committed.
   */
  setRoc(ssrc: number, roc: number): void {
    this.checkUsable();
    if (!Number.isInteger(roc) || roc < 0 || roc > 0xffffffff) throw new SrtpError("ERR_CONFIG", "ROC is a 32-bit unsigned integer");
    this.authority.setRoc(ssrc, roc);
  }

  /**
   * Waits for the batches in flight, has every worker zero its keys and ring and exit, terminates any
   * that did not, and zeroes the shared memory. Resolves with how many workers confirmed the zeroing.
   * Idempotent: later calls resolve 0.
   */
  async close(): Promise<number> {
    if (this.closed) return 0;
    this.closed = true;
    await this.queue.drained();
    let confirmed = 0;
    this.stopping = true;
    if (!this.failure) {
      const acks = this.rings.map((ring, w) => {
        const s = this.cursor[w]!;
        ring.slots[s]!.ctl[CTL_OP] = OP_CLOSE;
        Atomics.store(ring.state, s, WORK);
        Atomics.notify(ring.state, s);
        const wait = waitAsync(ring.state, s, WORK, CLOSE_TIMEOUT_MS);
        return (wait.async ? wait.value : Promise.resolve(wait.value)).then(() => Atomics.load(ring.state, s) === DONE);
      });
      confirmed = (await Promise.all(acks)).filter(Boolean).length;
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const r of this.rings) r.wipe();
    return confirmed;
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /** The send index of packet `buf[at..at+len)` with room up to `end`: as SrtpContext decides it. */
  private sendIndex(buf: Uint8Array, at: number, len: number, end: number): number {
    const header = rtpHeaderLength(buf, at, len);
    if (header < 0) return header;
    if (at + len + this.trailer > end) return -SrtpStatus.NoCapacity;
    return this.authority.assign(buf, at, len);
  }

  private submit(w: number, s: number, op: number, batch: PacketBatch | undefined, span: number): Promise<number> {
    const ring = this.rings[w]!;
    const slot = ring.slots[s]!;
    slot.ctl[CTL_OP] = op;
    slot.ctl[CTL_ERROR] = 0;
    const done = this.queue.push(w, s, batch, span);
    this.cursor[w] = (s + 1) % ring.shape.slots;
    if (batch) this.next = (w + 1) % this.rings.length;
    Atomics.store(ring.state, s, WORK);
    Atomics.notify(ring.state, s);
    this.pump();
    return done;
  }

  private keyOp(op: number, parts: Uint8Array[]): Promise<void> {
    this.checkUsable();
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (size > this.rings[0]!.shape.slotBytes) throw new SrtpError("ERR_CONFIG", "key material larger than a slot");
    if (this.rings.some((ring, w) => Atomics.load(ring.state, this.cursor[w]!) !== FREE)) {
      throw new SrtpError("ERR_BUSY", "the pool is full: await an earlier batch first");
    }
    const all = this.rings.map((ring, w) => {
      const s = this.cursor[w]!;
      const slot = ring.slots[s]!;
      let at = 0;
      parts.forEach((p, k) => {
        slot.batch.buffer.set(p, at);
        at += p.length;
        slot.ctl[CTL_ARG0 + k] = p.length;
      });
      return this.submit(w, s, op, undefined, 0);
    });
    return Promise.all(all).then(() => undefined);
  }

  /** Collects every finished entry at the head of the queue, in order; then waits for the next one. */
  private pump(): void {
    if (this.waiting || this.failure) return;
    while (this.queue.length > 0) {
      const w = this.queue.headWorker, s = this.queue.headSlot;
      const state = this.rings[w]!.state;
      if (Atomics.load(state, s) !== DONE) {
        const wait = waitAsync(state, s, WORK);
        if (!wait.async) continue;
        this.waiting = true;
        void wait.value.then(() => {
          this.waiting = false;
          this.pump();
        });
        return;
      }
      this.collect(w, s);
    }
  }

  /** Takes one finished slot's results into its batch (in order) and settles its promise. */
  private collect(w: number, s: number): void {
    const ring = this.rings[w]!;
    const slot = ring.slots[s]!;
    const { batch, span } = this.queue.head;
    const error = slot.ctl[CTL_ERROR]!;
    let result = slot.ctl[CTL_RESULT]!;
    if (error === 0 && batch) result = this.protect ? this.takeProtected(slot, batch, span) : this.takeVerified(slot, batch, span, result);
    const code = error > 0 ? String.fromCharCode(...slot.batch.buffer.subarray(0, error)) : "";
    Atomics.store(ring.state, s, FREE);
    Atomics.notify(ring.state, s);
    if (error > 0) this.queue.shift(new SrtpError(code as SrtpErrorCode, `a crypto worker refused the ${batch ? "batch" : "key operation"}`));
    else this.queue.shift(undefined, result);
  }

  private takeProtected(slot: RingSlot, batch: PacketBatch, span: number): number {
    if (batch === slot.batch) return slot.ctl[CTL_RESULT]!;
    batch.buffer.set(slot.batch.buffer.subarray(0, span));
    for (let i = 0; i < slot.batch.count; i++) batch.lengths[i] = slot.batch.lengths[i]!;
    return slot.ctl[CTL_RESULT]!;
  }

  /**
   * The verified packets of a finished receive batch, committed in order; a packet refused at the commit
   * (a replay verified in parallel) keeps the caller's bytes: the span is copied back around it (unless
   * the batch is the slot's own).
   */
  private takeVerified(slot: RingSlot, batch: PacketBatch, span: number, verified: number): number {
    const data = slot.batch.buffer;
    const inPlace = batch === slot.batch;
    let from = 0;
    for (let i = 0; i < slot.batch.count; i++) {
      const r = slot.batch.lengths[i]!;
      if (r >= 0) {
        const at = slot.batch.offsets[i]!;
        const status = this.authority.commit(readSsrc(data, at + 8), slot.indices[i]!);
        if (status < 0) {
          verified--;
          batch.lengths[i] = status;
          if (at > from && !inPlace) batch.buffer.set(data.subarray(from, at), from);
          from = at + r + this.trailer;
          continue;
        }
      }
      batch.lengths[i] = r;
    }
    if (span > from && !inPlace) batch.buffer.set(from === 0 ? data.subarray(0, span) : data.subarray(from, span), from);
    return verified;
  }

  /** A worker died or failed: every entry in flight and every later call gets `error` (a drain in close() ends). */
  private fail(error: SrtpError): void {
    if (this.stopping || this.failure) return;
    this.failure = error;
    this.queue.failAll(error);
  }

  private checkUsable(): void {
    if (this.closed) throw new SrtpError("ERR_CLOSED", "the pool is closed");
    if (this.failure) throw this.failure;
  }
}

function workerError(i: number, what: string): SrtpError {
  return new SrtpError("ERR_WORKER", `crypto worker ${i} failed: ${what}`);
}
