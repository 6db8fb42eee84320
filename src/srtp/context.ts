import { defaultCore } from "../wasm/default-core.js";
import type { CryptoCore } from "../wasm/core.js";
import { SrtpError, SrtpStatus } from "./errors.js";
import type { MasterKey } from "./master-key.js";
import { KeyedTransform } from "./keyed-transform.js";
import type { SrtpContextOptions } from "./options.js";
import { checkBatch, type PacketBatch } from "./batch.js";
import { ROC_BYTES } from "./packet-arena.js";
import { PacketJob, tagJobs, verifyJob, verifyJobs } from "./packet-job.js";
import { readSsrc, rtpHeaderLength, rtpSequence } from "./rtp-header.js";
import { SRTCP_INDEX_BYTES, SrtcpStreams } from "./srtcp.js";
import { MAX_SRTCP_INDEX, MAX_SRTP_INDEX, StreamState } from "./stream-state.js";


/** A length that does not fit its buffer is a caller's bug, not bad input: it throws. */
function checkLength(buf: Uint8Array, at: number, len: number): void {
  if (!(Number.isInteger(len) && len >= 0 && at + len <= buf.length)) {
    throw new SrtpError("ERR_ARGUMENT", `length ${len} does not fit the ${buf.length}-byte buffer`);
  }
}

/**
 * One SRTP/SRTCP cryptographic context (RFC 3711 §3.2): master keys selected by MKI, per-SSRC ROC and
 * replay state, and the WASM transforms. Use one context per direction (one to protect, one to
 * unprotect). Not safe for concurrent use from several workers; each worker makes its own.
 *
 * Every packet method works in place on the caller's buffer and returns the new length. `protect` needs
 * room after the packet for MKI and tag (`trailerLength`). The `try…` forms return a negated
 * `SrtpStatus` instead of throwing (cheaper under a flood of bad packets); a refused packet leaves the
 * context and the caller's buffer exactly as they were.
 */
export class SrtpContext extends KeyedTransform {
  private readonly txRtp = new Map<number, StreamState>();
  private readonly rxRtp = new Map<number, StreamState>();
  private readonly rtcp: SrtcpStreams;
  /** The key lookup, bound once (the SRTCP path looks keys up without a closure per packet). */
  private readonly keyAt = (buf: Uint8Array, mkiAt: number): MasterKey | undefined => this.keys.forPacket(buf, mkiAt);

  constructor(options: SrtpContextOptions, core: CryptoCore = defaultCore()) {
    super(options, core);
    this.rtcp = new SrtcpStreams(core, this.arena, this.opts);
  }

  get profile(): string {
    return this.opts.profile.name;
  }

  get mkiLength(): number {
    return this.opts.mkiLength;
  }

  /** Bytes `protectRtcp` appends to an RTCP packet (E‖index + MKI + tag). */
  get rtcpTrailerLength(): number {
    return SRTCP_INDEX_BYTES + this.opts.mkiLength + this.opts.profile.srtcpTagLength;
  }

  // ---- keys ----------------------------------------------------------------------------------------

  hasKey(mki: Uint8Array): boolean {
    return this.keys.has(mki);
  }

  // ---- ROC and index (late join) ----------------------------------------------------------------------

  /** The ROC of `ssrc` on the receive side (or the send side with `{ send: true }`), 0 if unknown. */
  getRoc(ssrc: number, { send = false } = {}): number {
    return (send ? this.txRtp : this.rxRtp).get(ssrc >>> 0)?.roc ?? 0;
  }

  /**
   * Sets the ROC of `ssrc` from key management (MIKEY's CS map): a late joiner's first packet gets its
   * index from it (RFC 3711 §3.3.1). On a stream with packets the replay window is kept, a ROC it has
   * already reached changes nothing, and a ROC ahead of it gives the next packet's index.
   */
  setRoc(ssrc: number, roc: number, { send = false } = {}): void {
    this.checkOpen();
    if (!Number.isInteger(roc) || roc < 0 || roc > 0xffffffff) throw new SrtpError("ERR_CONFIG", "ROC is a 32-bit unsigned integer");
    this.stream(send ? this.txRtp : this.rxRtp, ssrc >>> 0).setRoc(roc);
  }

  /** Each SSRC sent so far with its ROC (what key management signals to late joiners, RFC 3830 §6.1.1). */
  sendStreams(): { ssrc: number; roc: number }[] {
    return [...this.txRtp].map(([ssrc, stream]) => ({ ssrc, roc: stream.roc }));
  }

  /** Highest 48-bit index seen for `ssrc`, or -1. */
  getIndex(ssrc: number, { send = false } = {}): number {
    return (send ? this.txRtp : this.rxRtp).get(ssrc >>> 0)?.highest ?? -1;
  }

  setIndex(ssrc: number, index: number, { send = false } = {}): void {
    this.checkOpen();
    if (!Number.isInteger(index) || index < 0 || index >= MAX_SRTP_INDEX) throw new SrtpError("ERR_CONFIG", "index is 48 bits");
    this.stream(send ? this.txRtp : this.rxRtp, ssrc >>> 0).setIndex(index);
  }

  /** Sets the next SRTCP index the sender uses for `ssrc` (libsrtp starts at 1, RFC 3711 at 0). */
  setRtcpIndex(ssrc: number, index: number): void {
    this.checkOpen();
    if (!Number.isInteger(index) || index < 0 || index >= MAX_SRTCP_INDEX) throw new SrtpError("ERR_CONFIG", "SRTCP index is 31 bits");
    this.rtcp.setNextIndex(ssrc >>> 0, index);
  }

  // ---- SRTP ----------------------------------------------------------------------------------------------

  protect(buf: Uint8Array, len: number = buf.length): number {
    return this.orThrow(this.tryProtect(buf, len));
  }

  unprotect(buf: Uint8Array, len: number = buf.length): number {
    return this.orThrow(this.tryUnprotect(buf, len));
  }

  tryProtect(buf: Uint8Array, len: number): number {
    const job = this.job;
    const status = this.prepareProtect(job, buf, 0, len, buf.length);
    if (status < 0) return status;
    this.arena.load(buf, len);
    const { mkiLength, profile } = this.opts;
    this.core.srtpProtect(job.keys, job.ssrc, job.index, 0, job.header, len, len, job.roc, true, len + mkiLength, profile.srtpTagLength);
    const total = len + this.trailerLength;
    this.arena.store(buf, 0, total);
    this.finishProtect(job, buf);
    return total;
  }

  tryUnprotect(buf: Uint8Array, len: number): number {
    const job = this.job;
    let status = this.parseIncoming(job, buf, 0, len);
    if (status === 0) status = this.placeIncoming(job, buf);
    if (status < 0) return status;
    this.arena.load(buf, len);
    if (!this.verifyOne(job) && !this.verifyNextRoc(job)) return -SrtpStatus.AuthFailed;
    this.core.srtpXor(job.keys, job.ssrc, job.index, job.header, job.authLength - job.header);
    this.arena.store(buf, 0, job.authLength);
    this.commitReceived(job);
    return job.authLength;
  }

  /**
   * Protects every packet of `batch` with one pass: AES-CM per packet, then the tags four at a time in
   * the 4-lane HMAC-SHA1. Returns how many were protected; `batch.lengths` gets each new length or status.
   */
  protectBatch(batch: PacketBatch): number {
    const { count, jobs, span } = this.prepareBatch(batch, true);
    const { mkiLength, profile } = this.opts;
    const ready = this.ready;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const job = jobs[i]!;
      if (batch.lengths[i]! < 0) continue;
      this.core.srtpXor(job.keys, job.ssrc, job.index, job.at + job.header, job.len - job.header);
      ready[n++] = job;
    }
    tagJobs(this.core, ready, n, mkiLength, profile.srtpTagLength);
    this.arena.storeSpan(batch.buffer, span);
    for (let i = 0; i < n; i++) {
      const job = ready[i]!;
      this.finishProtect(job, batch.buffer);
      batch.lengths[job.batchSlot] = job.len + this.trailerLength;
    }
    return n;
  }

  /**
   * Unprotects every packet of `batch` with exactly the results of `unprotect` on each in turn. The tags
   * are verified four at a time under the index guessed from the state before the batch; then, in
   * order, each packet's index is estimated again from the state its predecessors left (as `unprotect`
   * would) and the packet decrypted and committed. Where the guess was wrong (the batch crossed a
   * sequence wrap, an earlier packet was refused) its tag is verified again alone. Returns how many were
   * accepted; `batch.lengths` gets each new length or status.
   */
  unprotectBatch(batch: PacketBatch): number {
    const { count, jobs, span } = this.prepareBatch(batch, false);
    const { buffer, lengths } = batch;
    const ready = this.ready;
    let n = 0;
    for (let i = 0; i < count; i++) if (lengths[i]! >= 0 && jobs[i]!.laneIndex >= 0) ready[n++] = jobs[i]!;
    verifyJobs(this.core, ready, n, this.opts.mkiLength, this.opts.profile.srtpTagLength);
    let accepted = 0;
    for (let i = 0; i < count; i++) {
      if (lengths[i]! < 0) continue;
      const job = jobs[i]!;
      const status = this.placeIncoming(job, buffer);
      if (status < 0) {
        lengths[i] = status;
        continue;
      }
      // The tag covers the ROC (RFC 3711 §4.2): the lanes' verdict holds only for the index they used.
      if (!(job.index === job.laneIndex ? job.laneOk : this.verifyOne(job)) && !this.verifyNextRoc(job)) {
        lengths[i] = -SrtpStatus.AuthFailed;
        continue;
      }
      this.core.srtpXor(job.keys, job.ssrc, job.index, job.at + job.header, job.authLength - job.header);
      this.commitReceived(job);
      lengths[i] = job.authLength;
      accepted++;
    }
    this.arena.storeSpan(buffer, span);
    return accepted;
  }

  // ---- SRTCP ---------------------------------------------------------------------------------------------

  protectRtcp(buf: Uint8Array, len: number = buf.length): number {
    return this.orThrow(this.tryProtectRtcp(buf, len));
  }

  unprotectRtcp(buf: Uint8Array, len: number = buf.length): number {
    return this.orThrow(this.tryUnprotectRtcp(buf, len));
  }

  tryProtectRtcp(buf: Uint8Array, len: number): number {
    this.checkOpen();
    checkLength(buf, 0, len);
    return this.rtcp.protect(buf, len, this.keys.send);
  }

  tryUnprotectRtcp(buf: Uint8Array, len: number): number {
    this.checkOpen();
    checkLength(buf, 0, len);
    return this.rtcp.unprotect(buf, len, this.keyAt);
  }

  // ---- lifetime ------------------------------------------------------------------------------------------

  // ---- internals -----------------------------------------------------------------------------------------

  private readonly job = new PacketJob();
  private jobs: PacketJob[] = [];
  private ready: PacketJob[] = [];

  /**
   * Decides everything about an outgoing RTP packet at `buf[at..at+len)` (room up to `end`): header, SSRC
   * state, index, key. Returns 0, or a negated SrtpStatus with nothing changed.
   */
  private prepareProtect(job: PacketJob, buf: Uint8Array, at: number, len: number, end: number): number {
    this.checkOpen();
    checkLength(buf, at, len);
    const header = rtpHeaderLength(buf, at, len);
    if (header < 0) return header;
    const total = len + this.trailerLength;
    if (at + total > end) return -SrtpStatus.NoCapacity;
    if (at + total + ROC_BYTES > this.arena.capacity) return -SrtpStatus.TooLong;
    const ssrc = readSsrc(buf, at + 8);
    const stream = this.stream(this.txRtp, ssrc);
    const index = stream.estimateIndex(rtpSequence(buf, at));
    if (index >= MAX_SRTP_INDEX) return -SrtpStatus.KeyLimit;
    // Protecting an index twice reuses the keystream: refused unless retransmissions are allowed.
    const seen = stream.window.check(index);
    if (seen !== 0 && !this.opts.allowRepeatTx) return seen === 1 ? -SrtpStatus.Replayed : -SrtpStatus.TooOld;
    const key = this.keys.send;
    if (key === undefined) return -SrtpStatus.UnknownMki;
    if (key.rtpPackets >= MAX_SRTP_INDEX) return -SrtpStatus.KeyLimit;
    job.set(at, len, header, len, ssrc, index, key, stream);
    job.keys = key.keysFor(key.rtp, index);
    // Nothing can fail after this point: the sender commits now, so a batch never reuses an index.
    if (seen === 0) stream.window.commit(index);
    key.rtpPackets++;
    return 0;
  }

  /** After the core protected `job`: the MKI goes between payload and tag. */
  private finishProtect(job: PacketJob, buf: Uint8Array): void {
    if (job.key.mki) buf.set(job.key.mki, job.at + job.len);
  }

  /**
   * What an incoming SRTP packet at `buf[at..at+len)` is, independent of any stream's state: header,
   * lengths, key. 0 or a negated SrtpStatus.
   */
  private parseIncoming(job: PacketJob, buf: Uint8Array, at: number, len: number): number {
    this.checkOpen();
    checkLength(buf, at, len);
    const header = rtpHeaderLength(buf, at, len);
    if (header < 0) return header;
    const authLength = len - this.trailerLength;
    if (authLength < header) return -SrtpStatus.TooShort;
    if (at + len + ROC_BYTES > this.arena.capacity) return -SrtpStatus.TooLong;
    const key = this.keys.forPacket(buf, at + authLength);
    if (key === undefined) return -SrtpStatus.UnknownMki;
    job.set(at, len, header, authLength, readSsrc(buf, at + 8), 0, key, undefined);
    return 0;
  }

  /**
   * The parsed `job`'s index from its SSRC's state now (RFC 3711 §3.3.1, Appendix A) and the replay
   * check (§3.3.2); 0 or a negated SrtpStatus.
   */
  private placeIncoming(job: PacketJob, buf: Uint8Array): number {
    // A new SSRC gets state only once its first packet authenticates (its SSRC is unauthenticated), and
    // only while fewer than maxStreams are kept (the packets of one batch are placed before any commits:
    // a batch can take the count past the bound by its new SSRCs, once).
    const stream = this.rxRtp.get(job.ssrc);
    if (stream === undefined && this.rxRtp.size >= this.opts.maxStreams) return -SrtpStatus.StreamLimit;
    const index = (stream ?? this.fresh()).estimateIndex(rtpSequence(buf, job.at));
    if (index >= MAX_SRTP_INDEX) return -SrtpStatus.KeyLimit;
    const seen = stream ? stream.window.check(index) : 0;
    if (seen !== 0) return seen === 1 ? -SrtpStatus.Replayed : -SrtpStatus.TooOld;
    job.index = index;
    job.stream = stream;
    job.keys = job.key.keysFor(job.key.rtp, index);
    return 0;
  }

  /**
   * A batch packet's parse (final) and its index guessed from the state before the batch, for the
   * 4-lane verification; a packet the guess refuses is not verified in the lanes (laneIndex -1).
   */
  private prepareBatchedIncoming(job: PacketJob, buf: Uint8Array, at: number, len: number): number {
    const status = this.parseIncoming(job, buf, at, len);
    if (status === 0) job.laneIndex = this.placeIncoming(job, buf) === 0 ? job.index : -1;
    return status;
  }

  private commitReceived(job: PacketJob): void {
    (job.stream ?? this.stream(this.rxRtp, job.ssrc)).window.commit(job.index);
  }

  /** Validates a batch, prepares each packet and loads the whole span into the arena. */
  private prepareBatch(batch: PacketBatch, protect: boolean): { count: number; jobs: PacketJob[]; span: number } {
    this.checkOpen();
    // With kdr ≠ 0 packets of one batch could need different session keys in the same slots.
    if (this.opts.kdr !== 0) throw new SrtpError("ERR_CONFIG", "the batch API needs key_derivation_rate 0");
    const count = checkBatch(batch);
    const { buffer, offsets, lengths } = batch;
    while (this.jobs.length < count) this.jobs.push(new PacketJob());
    if (this.ready.length < count) this.ready = new Array<PacketJob>(count);
    let span = 0;
    for (let i = 0; i < count; i++) {
      const at = offsets[i]!, len = lengths[i]!;
      const end = i + 1 < count ? offsets[i + 1]! : buffer.length;
      const job = this.jobs[i]!;
      job.batchSlot = i;
      const status = protect ? this.prepareProtect(job, buffer, at, len, end) : this.prepareBatchedIncoming(job, buffer, at, len);
      if (status < 0) lengths[i] = status;
      span = Math.max(at + len + (status < 0 ? 0 : protect ? this.trailerLength : 0), span);
    }
    if (span + ROC_BYTES > this.arena.capacity) throw new SrtpError("ERR_TOO_LONG", "batch larger than the packet arena", SrtpStatus.TooLong);
    this.arena.loadSpan(buffer, span);
    return { count, jobs: this.jobs, span };
  }

  /** A packet placed under a signalled ROC that failed: its tag under the next ROC (StreamState.nextRocIndex). */
  private verifyNextRoc(job: PacketJob): boolean {
    const next = job.stream?.nextRocIndex(job.index) ?? -1;
    if (next < 0) return false;
    job.index = next;
    job.keys = job.key.keysFor(job.key.rtp, next);
    return this.verifyOne(job);
  }

  private verifyOne(job: PacketJob): boolean {
    return verifyJob(this.core, job, this.opts.mkiLength, this.opts.profile.srtpTagLength);
  }

  private freshState?: StreamState;

  /** A pristine state to estimate the index of an SSRC not yet seen. */
  private fresh(): StreamState {
    return (this.freshState ??= new StreamState(64));
  }

  private stream(map: Map<number, StreamState>, ssrc: number): StreamState {
    let state = map.get(ssrc);
    if (state === undefined) {
      state = new StreamState(this.opts.replayWindow);
      map.set(ssrc, state);
    }
    return state;
  }

  private orThrow(result: number): number {
    if (result < 0) throw SrtpError.fromStatus(-result as SrtpStatus);
    return result;
  }

}
