/**
 * The UE's SRTP receiver with MKI evaluation (docs/architecture.md): one receive SrtpContext in MKI
 * mode whose master keys come from a TekSource (ME-based or UICC-based: the same code).
 *
 * The MKI is not authenticated (RFC 3711 §3.1), so every MKI value is untrusted input until a packet
 * under it authenticates. What bounds an attacker who floods forged MKIs:
 *
 *   - Fast path: a packet under an installed MKI goes straight to `tryUnprotect` (the current key first).
 *   - A new MKI becomes a *candidate* holding a bounded queue of its packets (candidate-cache.ts).
 *     Derivations are started by a token bucket (default 50/s, burst 10), at most `maxInFlight` at once,
 *     and always for the candidate with the most packets seen first: the real stream's new MKI repeats at
 *     the stream's rate, forged MKIs each need their own packets, so the real switch wins quickly.
 *   - A derived key is on probation until a packet under it authenticates (key-ring.ts): forged MKIs never
 *     displace the current and previous keys.
 *   - MKIs naming an unknown TGK-ID cost no derivation: their packets wait (for a re-key), and
 *     `onUnknownTgk` is called only on evidence the UE can trust (unknown-tgk-gate.ts).
 *   - A source that fails (a card timeout, a worker restarting) is not evidence of forgery: the MKI's
 *     derivation is retried with backoff, its packets kept.
 *
 * Delivery: every decrypted packet is passed to `onPacket` exactly once. `receive` also returns a
 * status: ≥ 0 = the packet decrypted now, in place (`buf[0..n)` is the RTP packet, and `onPacket` got
 * the same view); `-EvaluatorStatus.Queued` = held until its MKI's TEK arrives (then delivered through
 * `onPacket` with a copy, or dropped and counted); any other negative value is a refusal (negated
 * `SrtpStatus` or `EvaluatorStatus`).
 *
 * Browser-safe: no Node APIs. Single-threaded: not for concurrent use from several workers.
 */
import { systemClock } from "../../clock.js";
import { SrtpStatus } from "../../srtp/errors.js";
import type { PacketBatch } from "../../srtp/batch.js";
import { DEFAULT_PROFILE, SRTP_PROFILES, type SrtpProfileName } from "../../srtp/profiles.js";
import { defaultCore } from "../../wasm/default-core.js";
import { MbmsError } from "../errors.js";
import { DEFAULT_MKI_LAYOUT, mkiLayout, type MkiLayout } from "../key-hierarchy.js";
import { TokenBucket } from "../token-bucket.js";
import { CandidateCache, type Candidate } from "./candidate-cache.js";
import {
  EvaluatorStatus, evaluatorSettings, zeroStats, type EvaluatorSettings, type MkiEvaluatorOptions, type MkiEvaluatorStats,
} from "./evaluator-options.js";
import { KeyRing, type InstalledKey } from "./key-ring.js";
import type { TekResult, TekSource } from "./tek-source.js";
import { UnknownTgkGate } from "./unknown-tgk-gate.js";

const HOUSEKEEP_MS = 1000;
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 2000;

export class MkiEvaluator {
  private readonly source: TekSource;
  private readonly onPacket: (packet: Uint8Array) => void;
  private readonly settings: EvaluatorSettings;
  private readonly clock: () => number;
  /** The service's profile and MKI layout: where the MKI sits (before the tag, RFC 3711 §3.1); fixed once keyed. */
  private profile: SrtpProfileName;
  private layout: MkiLayout;
  private mkiLen = 0;
  private tagLen = 0;
  private tgkIdSpace = 0;
  private readonly keys: KeyRing;
  private readonly candidates: CandidateCache;
  private readonly gate: UnknownTgkGate;
  private readonly bucket: TokenBucket;
  private inFlight = 0;
  /** Clock of the last packet that authenticated under any key. */
  private lastAuthAt = -Infinity;
  private nextPumpAt = Infinity;
  private nextHousekeepAt = 0;
  private readonly unsubscribe: (() => void) | undefined;
  private closed = false;
  private readonly s: MkiEvaluatorStats = zeroStats();

  constructor(options: MkiEvaluatorOptions) {
    this.source = options.tekSource;
    this.onPacket = options.onPacket;
    this.profile = options.profile ?? DEFAULT_PROFILE;
    if (!SRTP_PROFILES[this.profile]) throw new MbmsError("ERR_ARGUMENT", `unknown SRTP profile ${String(this.profile)}`);
    this.layout = mkiLayout(options.layout ?? DEFAULT_MKI_LAYOUT);
    this.useService(this.profile, this.layout);
    this.settings = evaluatorSettings(options);
    this.clock = options.now ?? (() => performance.now());
    this.keys = new KeyRing({ settings: this.settings, core: options.core ?? defaultCore(), replayWindow: options.replayWindow, stats: this.s });
    this.candidates = new CandidateCache(this.settings, (n) => void (this.s.queuedDropped += n));
    this.gate = new UnknownTgkGate({
      source: this.source, settings: this.settings, clock: options.clock ?? systemClock, stats: this.s,
      onUnknownTgk: options.onUnknownTgk, beforeRefresh: () => this.adoptService(),
    });
    this.bucket = new TokenBucket(this.settings.derivationRate, this.settings.derivationBurst, this.clock());
    this.unsubscribe = this.source.subscribe?.(() => this.tgksChanged());
  }

  /** Counters (a snapshot). */
  get stats(): MkiEvaluatorStats {
    return { ...this.s };
  }

  /** Master keys installed in the context now (current, previous and on probation). */
  get installedKeys(): number {
    return this.keys.size;
  }

  /** Packets waiting for a TEK, and their bytes. */
  get queuedPackets(): number {
    return this.candidates.queued;
  }

  get queuedPacketBytes(): number {
    return this.candidates.queuedBytes;
  }

  /** MKIs waiting for a derivation or a TGK. */
  get pendingMkis(): number {
    return this.candidates.size;
  }

  /** Sets the ROC of `ssrc` (late join, from the key message's CS map); applied when the context exists. */
  setRoc(ssrc: number, roc: number): void {
    this.keys.setRoc(ssrc, roc);
  }

  /** Tell the evaluator the source's TGKs changed (automatic when the source has `subscribe`). */
  tgksChanged(): void {
    this.adoptService();
    this.gate.tgksChanged();
    for (const c of this.candidates.values()) c.waitTgk = false;
    if (!this.closed && this.candidates.size > 0) this.pump(this.clock());
  }

  /** Runs timers (grace expiry, probation, pending derivations) without a packet. */
  tick(): void {
    if (this.closed) return;
    const now = this.clock();
    this.housekeep(now);
    this.pump(now);
  }

  /** Resolves once no derivation is in flight (those started while waiting included). */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.candidates.values()].map((c) => c.inFlight).filter((p): p is Promise<void> => p !== undefined);
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /**
   * Receives one SRTP packet `buf[0..len)`. Returns the RTP length (decrypted in place, also passed to
   * onPacket), `-EvaluatorStatus.Queued`, or another negated SrtpStatus / EvaluatorStatus refusal.
   */
  receive(buf: Uint8Array, len: number = buf.length): number {
    if (this.closed) return -EvaluatorStatus.Closed;
    const now = this.clock();
    if (now >= this.nextHousekeepAt) this.housekeep(now);
    if (now >= this.nextPumpAt) this.pump(now);
    if (!(Number.isInteger(len) && len >= 0 && len <= buf.length)) {
      throw new MbmsError("ERR_ARGUMENT", `length ${len} does not fit the ${buf.length}-byte buffer`);
    }
    const mkiAt = len - this.mkiLen - this.tagLen;
    if (mkiAt < 12) {
      this.s.refused++;
      return -SrtpStatus.TooShort;
    }
    const cur = this.keys.current;
    if (cur !== undefined && sameBytes(buf, mkiAt, cur.mki)) return this.unprotect(cur, buf, len);
    const id = this.idOf(buf, mkiAt);
    const key = this.keys.get(id);
    if (key !== undefined) return this.unprotect(key, buf, len);
    const verdict = this.keys.verdict(id, now);
    if (verdict !== undefined) {
      this.s.untrustedDropped++;
      return -verdict;
    }
    return this.admit(id, buf, mkiAt, len, now);
  }

  /**
   * Receives `batch` (the PacketBatch layout of SrtpContext.unprotectBatch). Each run of packets under the
   * current MKI goes through one unprotectBatch call (tags verified four at a time); every other packet
   * takes the path of receive(). `batch.lengths[i]` gets what receive() would have returned for packet i
   * (except that a forged copy of a packet earlier in the same batch is refused as an authentication
   * failure rather than a replay), and onPacket sees each delivered packet as a view into `batch.buffer`.
   */
  receiveBatch(batch: PacketBatch): void {
    const { buffer, offsets, lengths } = batch;
    const count = batch.count ?? offsets.length;
    if (!(Number.isInteger(count) && count >= 0 && count <= offsets.length && count <= lengths.length)) {
      throw new MbmsError("ERR_ARGUMENT", "batch count exceeds its offsets or lengths");
    }
    for (let i = 0; i < count;) {
      const now = this.clock();
      if (!this.closed && now >= this.nextHousekeepAt) this.housekeep(now); // may retire or swap keys
      if (!this.closed && now >= this.nextPumpAt) this.pump(now);
      const cur = this.closed ? undefined : this.keys.current;
      let j = i;
      while (cur !== undefined && j < count && this.underKey(buffer, offsets[j]!, lengths[j]!, cur.mki)) j++;
      if (j - i < 2) {
        const at = offsets[i]!, len = lengths[i]!;
        lengths[i] = this.receive(buffer.subarray(at, at + len), len);
        i++;
        continue;
      }
      this.keys.ctx!.unprotectBatch({ buffer, offsets: offsets.subarray(i, j), lengths: lengths.subarray(i, j) });
      for (; i < j; i++) {
        // onPacket may close the evaluator: what is left of the run is then refused, as receive() would.
        const r = this.closed ? -EvaluatorStatus.Closed : lengths[i]!;
        lengths[i] = r;
        if (!this.closed) this.account(cur!, r, r >= 0 ? buffer.subarray(offsets[i]!, offsets[i]! + r) : buffer);
      }
    }
  }

  /** Whether `buf[at..at+len)` is long enough to carry an MKI and carries `mki`. */
  private underKey(buf: Uint8Array, at: number, len: number, mki: Uint8Array): boolean {
    const mkiAt = len - this.mkiLen - this.tagLen;
    return mkiAt >= 12 && at >= 0 && at + len <= buf.length && sameBytes(buf, at + mkiAt, mki);
  }

  /** Zeroes every key and drops every queued packet. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.keys.close();
    this.candidates.clear();
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private idOf(buf: Uint8Array, at: number): string {
    let id = "";
    for (let i = 0; i < this.mkiLen; i++) id += String.fromCharCode(buf[at + i]!);
    return id;
  }

  /** tryUnprotect under an installed key, with the bookkeeping of its outcome. */
  private unprotect(key: InstalledKey, buf: Uint8Array, len: number): number {
    const r = this.keys.ctx!.tryUnprotect(buf, len);
    this.account(key, r, buf);
    return r;
  }

  private account(key: InstalledKey, r: number, buf: Uint8Array): void {
    if (r >= 0) {
      this.lastAuthAt = this.clock();
      const graceEnds = this.keys.authenticated(key, this.lastAuthAt);
      if (graceEnds !== undefined) this.nextHousekeepAt = Math.min(this.nextHousekeepAt, graceEnds);
      this.s.delivered++;
      this.onPacket(buf.subarray(0, r));
    } else if (r === -SrtpStatus.AuthFailed) {
      key.failed++;
      this.s.authFailed++;
    } else if (r === -SrtpStatus.Replayed || r === -SrtpStatus.TooOld) {
      this.s.replayed++;
    } else {
      this.s.refused++;
    }
  }

  /** A packet under an MKI that is neither installed nor cached. */
  private admit(id: string, buf: Uint8Array, mkiAt: number, len: number, now: number): number {
    const c = this.candidates.seen(id, now, this.lastAuthAt) ?? this.candidates.add(id, buf, mkiAt, this.mkiLen, this.layout.tgkIdBytes, now);
    if (c === undefined) {
      this.s.queuedDropped++;
      return -EvaluatorStatus.Queued;
    }
    const entry = this.candidates.enqueue(c, buf, len);
    if (!this.gate.knows(c.tgkId)) {
      this.gate.consider(c.tgkId, c.seenSinceAuth, this.lastAuthAt, this.tgkIdSpace, now);
    } else {
      this.pump(now);
    }
    if (entry.result === undefined) return -EvaluatorStatus.Queued;
    // Derived synchronously inside pump: the packet has been tried; mirror it into the caller's buffer.
    if (entry.result >= 0) buf.set(entry.data.subarray(0, entry.result));
    return entry.result;
  }

  /** Takes the service's profile and layout once the source knows them (before the receive context exists). */
  private adoptService(): void {
    const service = this.source.parameters;
    if (service && this.keys.ctx === undefined) this.useService(service.profile, service.layout);
  }

  private useService(profile: SrtpProfileName, layout: MkiLayout): void {
    this.profile = profile;
    this.layout = layout;
    this.mkiLen = layout.tgkIdBytes + layout.randBytes;
    this.tagLen = SRTP_PROFILES[profile].srtpTagLength;
    this.tgkIdSpace = 2 ** (8 * layout.tgkIdBytes);
  }

  /** Starts derivations for the most-demanded pending MKIs while the rate limit and in-flight bound allow. */
  private pump(now: number): void {
    this.nextPumpAt = Infinity;
    while (this.inFlight < this.settings.maxInFlight && !this.closed) {
      let best: Candidate | undefined;
      for (const c of this.candidates.values()) {
        if (c.inFlight !== undefined || c.waitTgk || c.queue.length === 0 || !this.gate.knows(c.tgkId)) continue;
        if (c.retryAt > now) {
          this.nextPumpAt = Math.min(this.nextPumpAt, c.retryAt);
          continue;
        }
        if (best === undefined || c.count > best.count || (c.count === best.count && c.firstSeen < best.firstSeen)) best = c;
      }
      if (best === undefined) return;
      if (!this.bucket.tryTake(now)) {
        this.s.derivationsRefused++;
        this.nextPumpAt = Math.min(this.nextPumpAt, now + this.bucket.waitMs(now));
        return;
      }
      this.derive(best, now);
    }
  }

  private derive(c: Candidate, now: number): void {
    this.s.derivations++;
    const sync = this.source.deriveTekSync;
    if (sync !== undefined) {
      let tek: TekResult | undefined;
      try {
        tek = sync.call(this.source, c.mki);
      } catch {
        this.derivationFailed(c, now);
        return;
      }
      this.derived(c, tek, now);
      return;
    }
    this.inFlight++;
    let promise: Promise<TekResult | undefined>;
    try {
      promise = this.source.deriveTek(c.mki);
    } catch (e) {
      promise = Promise.reject(e);
    }
    c.inFlight = promise.then(
      (tek) => this.finishAsync(c, tek, undefined),
      () => this.finishAsync(c, undefined, true),
    );
  }

  private finishAsync(c: Candidate, tek: TekResult | undefined, failed: true | undefined): void {
    this.inFlight--;
    c.inFlight = undefined;
    if (this.closed) {
      tek?.masterKey.fill(0);
      tek?.masterSalt.fill(0);
      return;
    }
    const now = this.clock();
    if (failed) this.derivationFailed(c, now);
    else this.derived(c, tek, now);
    this.pump(now);
  }

  /** The source (or the context) failed: not evidence of forgery. Retry with backoff, keeping the packets. */
  private derivationFailed(c: Candidate, now: number): void {
    this.s.derivationErrors++;
    if (!this.candidates.holds(c)) return;
    c.failures++;
    if (c.failures > this.settings.derivationRetries) {
      this.candidates.drop(c);
      return;
    }
    c.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (c.failures - 1));
    this.nextPumpAt = Math.min(this.nextPumpAt, c.retryAt);
  }

  /** A derivation finished: install the TEK and try the MKI's queued packets. */
  private derived(c: Candidate, tek: TekResult | undefined, now: number): void {
    if (tek === undefined) {
      // The TGK-ID is unknown after all (dropped or expired meanwhile): wait for a re-key.
      this.gate.invalidate();
      c.waitTgk = true;
      this.gate.consider(c.tgkId, c.seenSinceAuth, this.lastAuthAt, this.tgkIdSpace, now);
      return;
    }
    if (!this.candidates.holds(c)) {
      // evicted meanwhile (cannot happen while in flight, but stay safe)
      tek.masterKey.fill(0);
      tek.masterSalt.fill(0);
      return;
    }
    let key: InstalledKey;
    try {
      key = this.keys.install(c.id, c.mki, tek, this.profile, now);
    } catch {
      // The context refused the TEK (e.g. no free key slot in the core): a fault here, not a forgery.
      this.derivationFailed(c, now);
      return;
    } finally {
      tek.masterKey.fill(0);
      tek.masterSalt.fill(0);
    }
    this.nextHousekeepAt = Math.min(this.nextHousekeepAt, now + this.settings.probationMs);
    for (const entry of this.candidates.take(c)) {
      if (!this.keys.has(key)) {
        // removed meanwhile (an onPacket callback closed us, …)
        this.s.queuedDropped++;
        continue;
      }
      entry.result = this.keys.ctx!.tryUnprotect(entry.data, entry.len);
      this.account(key, entry.result, entry.data);
    }
  }

  /** Grace expiry, probation timeouts, stale candidates, TGK refresh. */
  private housekeep(now: number): void {
    const next = this.keys.housekeep(now, now + HOUSEKEEP_MS);
    for (const c of this.candidates.values()) if (c.waitTgk && this.source.subscribe === undefined) c.waitTgk = false;
    this.candidates.expire(now);
    this.gate.invalidate();
    this.nextHousekeepAt = next;
  }
}

function sameBytes(buf: Uint8Array, at: number, mki: Uint8Array): boolean {
  for (let i = 0; i < mki.length; i++) if (buf[at + i] !== mki[i]) return false;
  return true;
}
