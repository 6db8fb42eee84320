/**
 * The SRTP transforms of a batch whose 48-bit packet indices the caller decides: no per-SSRC state, no
 * replay window, no index estimation. It is the crypto half of SrtpContext's batch path, for a pool of
 * workers whose one index and replay authority (SrtpIndexAuthority) lives on the I/O thread: a worker
 * holding only a share of the packets must neither guess a ROC nor keep a window of its own.
 *
 * `indices[i]` is packet i's index (ROC·2^16 + SEQ, RFC 3711 §3.3.1) or a negated SrtpStatus, which
 * the packet gets as its result untouched. Packets, keys and tags are exactly those of SrtpContext: the
 * same master keys in the same core transforms (the 4-lane HMAC four packets at a time).
 */
import { defaultCore } from "../wasm/default-core.js";
import type { CryptoCore } from "../wasm/core.js";
import { checkBatch, type PacketBatch } from "./batch.js";
import { SrtpError, SrtpStatus } from "./errors.js";
import { KeyedTransform } from "./keyed-transform.js";
import { resolveOptions, type SrtpContextOptions } from "./options.js";
import { ROC_BYTES } from "./packet-arena.js";
import { PacketJob, tagJobs, verifyJob, verifyJobs } from "./packet-job.js";
import { readSsrc, rtpHeaderLength } from "./rtp-header.js";

export class IndexedBatchCrypto extends KeyedTransform {
  private readonly jobs: PacketJob[] = [];

  constructor(options: SrtpContextOptions, core: CryptoCore = defaultCore()) {
    // With kdr ≠ 0 packets of one batch could need different session keys in the same slots (checked
    // before any key reaches the core).
    if (resolveOptions(options).kdr !== 0) throw new SrtpError("ERR_CONFIG", "the batch API needs key_derivation_rate 0");
    super(options, core);
  }

  /** Largest batch span (the end of its last packet, trailer included) the core's arena takes. */
  get maxSpan(): number {
    return this.arena.capacity - ROC_BYTES;
  }

  /** Protects packet i under `indices[i]` with the send key; `lengths[i]` gets its new length or status. */
  protectAt(batch: PacketBatch, indices: Float64Array): number {
    const trailer = this.trailerLength;
    const count = this.check(batch, indices, trailer);
    const { buffer, offsets, lengths } = batch;
    const key = this.keys.send;
    let n = 0, span = 0;
    for (let i = 0; i < count; i++) {
      const at = offsets[i]!, len = lengths[i]!;
      const end = i + 1 < count ? offsets[i + 1]! : buffer.length;
      const header = rtpHeaderLength(buffer, at, len);
      const status = indices[i]! < 0 ? indices[i]! : header < 0 ? header : key === undefined ? -SrtpStatus.UnknownMki
        : at + len + trailer > end ? -SrtpStatus.NoCapacity : 0;
      if (status < 0) {
        lengths[i] = status;
        continue;
      }
      const job = this.jobs[n++]!;
      job.set(at, len, header, len, readSsrc(buffer, at + 8), indices[i]!, key!, undefined);
      job.batchSlot = i;
      job.keys = key!.keysFor(key!.rtp, job.index);
      span = at + len + trailer;
    }
    this.arena.loadSpan(buffer, span);
    const { mkiLength, profile } = this.opts;
    for (let k = 0; k < n; k++) {
      const job = this.jobs[k]!;
      this.core.srtpXor(job.keys, job.ssrc, job.index, job.at + job.header, job.len - job.header);
    }
    tagJobs(this.core, this.jobs, n, mkiLength, profile.srtpTagLength);
    this.arena.storeSpan(buffer, span);
    for (let k = 0; k < n; k++) {
      const job = this.jobs[k]!;
      if (job.key.mki) buffer.set(job.key.mki, job.at + job.len);
      lengths[job.batchSlot] = job.len + trailer;
    }
    return n;
  }

  /**
   * Verifies packet i's tag under `indices[i]` and, when it verifies, decrypts it in place; `lengths[i]`
   * gets the plaintext length or the refusal. A tag that fails is tried once more under `nextRoc[i]` when
   * that is ≥ 0 (SrtpIndexAuthority.nextRocIndex: a signalled ROC one behind the stream); if it verifies
   * there, `indices[i]` becomes that index, the one to commit. Nothing is committed anywhere: the caller's
   * authority does the replay check-and-update. Returns how many verified.
   */
  verifyDecryptAt(batch: PacketBatch, indices: Float64Array, nextRoc?: Float64Array): number {
    const count = this.check(batch, indices, 0);
    const { buffer, offsets, lengths } = batch;
    const trailer = this.trailerLength;
    let n = 0, span = 0;
    for (let i = 0; i < count; i++) {
      const at = offsets[i]!, len = lengths[i]!;
      const header = rtpHeaderLength(buffer, at, len);
      const authLength = len - trailer;
      const key = header < 0 || authLength < header ? undefined : this.keys.forPacket(buffer, at + authLength);
      const status = indices[i]! < 0 ? indices[i]! : header < 0 ? header : authLength < header ? -SrtpStatus.TooShort
        : key === undefined ? -SrtpStatus.UnknownMki : 0;
      if (status < 0) {
        lengths[i] = status;
        continue;
      }
      const job = this.jobs[n++]!;
      job.set(at, len, header, authLength, readSsrc(buffer, at + 8), indices[i]!, key!, undefined);
      job.batchSlot = i;
      job.keys = key!.keysFor(key!.rtp, job.index);
      span = at + len;
    }
    this.arena.loadSpan(buffer, span);
    const { mkiLength, profile } = this.opts;
    verifyJobs(this.core, this.jobs, n, mkiLength, profile.srtpTagLength);
    let verified = 0;
    for (let k = 0; k < n; k++) {
      const job = this.jobs[k]!;
      const next = nextRoc === undefined ? -1 : nextRoc[job.batchSlot]!;
      if (!job.laneOk && next >= 0) {
        job.index = next;
        job.keys = job.key.keysFor(job.key.rtp, next);
        job.laneOk = verifyJob(this.core, job, mkiLength, profile.srtpTagLength);
        if (job.laneOk) indices[job.batchSlot] = next;
      }
      if (!job.laneOk) {
        lengths[job.batchSlot] = -SrtpStatus.AuthFailed;
        continue;
      }
      this.core.srtpXor(job.keys, job.ssrc, job.index, job.at + job.header, job.authLength - job.header);
      lengths[job.batchSlot] = job.authLength;
      verified++;
    }
    this.arena.storeSpan(buffer, span);
    return verified;
  }

  /** The batch's shape, before any packet is touched; `grow` is what each packet may gain (the trailer). */
  private check(batch: PacketBatch, indices: Float64Array, grow: number): number {
    this.checkOpen();
    const count = checkBatch(batch);
    if (indices.length < count) throw new SrtpError("ERR_ARGUMENT", "fewer indices than packets");
    const last = count - 1;
    if (count > 0 && batch.offsets[last]! + batch.lengths[last]! + grow > this.maxSpan) {
      throw new SrtpError("ERR_TOO_LONG", "batch larger than the packet arena", SrtpStatus.TooLong);
    }
    while (this.jobs.length < count) this.jobs.push(new PacketJob());
    return count;
  }

}
