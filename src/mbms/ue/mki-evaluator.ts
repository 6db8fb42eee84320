/**
 * The UE's SRTP receiver with MKI evaluation (design.md §1 "UE", §4): one receive SrtpContext in MKI
 * mode whose master keys come from a TekSource (ME-based or UICC-based: same code, design.md §1).
 *
 * The MKI is not authenticated (RFC 3711 §3.1), so every MKI value is untrusted input until a packet
 * under it authenticates (standards.md §3.5). What bounds an attacker who floods forged MKIs:
 *
 *   - Fast path: a packet whose MKI is installed goes straight to `tryUnprotect` (no allocation, no
 *     derivation); the current key is compared first.
 *   - A new MKI becomes a *candidate* (bounded set, LRU-evicted) holding a bounded queue of its packets.
 *     Derivations are started by a token bucket (default 50/s, burst 10), at most `maxInFlight` at once,
 *     and always for the candidate with the most packets seen first: the real stream's new MKI repeats at
 *     the stream's rate, forged MKIs each need their own packets, so the real switch wins quickly.
 *   - A derived key is on probation until a packet under it authenticates; only then does it become the
 *     current key (the old one becomes "previous" and stays `graceMs` for late packets). A probation key
 *     without any authentic packet after `probationMs`, or evicted to keep `maxKeys`, is removed and its
 *     MKI negative-cached. The current and previous keys are never removed for unauthenticated reasons.
 *   - MKIs naming an unknown TGK-ID cost no derivation: their packets wait (for a re-key). A forged MKI
 *     must not make every UE on the channel re-key (the implosion the BM-SC's windows exist to prevent), so
 *     `onUnknownTgk` is called only on evidence the UE can trust: the TGK-ID is the plausible next one
 *     (within `unknownTgkAhead` after the highest held, or none is held), the MKI came at least
 *     `unknownTgkMinPackets` times since the last authentic packet, and either every TGK held has expired
 *     (the schedule says a new one is due) or no packet has authenticated for `unknownTgkSilenceMs` (the
 *     stream moved on). Calls are at least `unknownTgkIntervalMs` apart, and per TGK-ID the interval
 *     doubles while re-keys do not bring that TGK (up to 64×).
 *   - A source that fails (a card timeout, a worker restarting) is not evidence of forgery: the MKI's
 *     derivation is retried with backoff, its packets kept. Only a derived key under which no packet
 *     authenticates negative-caches its MKI.
 *   - Queued packets are copies of their own length, bounded in count and in bytes.
 *
 * Delivery: every decrypted packet is passed to `onPacket` exactly once. `receive` also returns a
 * status: ≥ 0 = the packet decrypted now, in place (`buf[0..n)` is the RTP packet, and `onPacket` got
 * the same view); `-EvaluatorStatus.Queued` = held until its MKI's TEK arrives (then delivered through
 * `onPacket` with a copy, or dropped and counted); any other negative value is a refusal (negated
 * `SrtpStatus` or `EvaluatorStatus`).
 *
 * Browser-safe: no Node APIs. Single-threaded: not for concurrent use from several workers.
 */
import { SrtpContext } from "../../srtp/context.js";
import { SrtpStatus } from "../../srtp/errors.js";
import type { PacketBatch } from "../../srtp/batch.js";
import { DEFAULT_PROFILE, SRTP_PROFILES, type SrtpProfileName } from "../../srtp/profiles.js";
import type { CryptoCore } from "../../wasm/core.js";
import { defaultCore } from "../../wasm/default-core.js";
import { MbmsError } from "../errors.js";
import { DEFAULT_MKI_LAYOUT, mkiLayout, type MkiLayout } from "../key-hierarchy.js";
import type { TekResult, TekSource } from "./tek-source.js";

/** Evaluator-level outcomes, returned negated by `receive` (beyond the negated SrtpStatus values). */
export enum EvaluatorStatus {
  /** Held until the TEK of its MKI is derived (or its TGK arrives). */
  Queued = 100,
  /** The MKI was derived recently and no packet under it authenticated: dropped without derivation. */
  ForgedMki = 101,
  /** The MKI belongs to a key retired after its grace period: dropped without derivation. */
  RetiredMki = 102,
  /** The evaluator is closed. */
  Closed = 103,
}

export interface MkiEvaluatorStats {
  /** Packets decrypted and passed to onPacket. */
  delivered: number;
  /** Packets under an installed key whose tag did not verify. */
  authFailed: number;
  /** Packets refused by the replay window (replayed or too old). */
  replayed: number;
  /** Other refusals (malformed, too short, key limit, …). */
  refused: number;
  /** TEK derivations started (calls into the TekSource). */
  derivations: number;
  /** Times a derivation was wanted but the rate limit refused it (once per packet while starved). */
  derivationsRefused: number;
  /** Derivations that failed (source error, or a TEK the context refused). */
  derivationErrors: number;
  /** Queued packets dropped (queue bounds, candidate eviction or expiry). */
  queuedDropped: number;
  /** Packets dropped because their MKI is negative-cached (forged) or retired. */
  untrustedDropped: number;
  /** Probation keys removed without any authentic packet (forged MKIs). */
  forgedKeys: number;
  /** Times the current key changed to another (the first key is not a switch). */
  switches: number;
  /** onUnknownTgk calls made. */
  unknownTgkNotified: number;
  /** The current MKI, hex; undefined before the first packet authenticates. */
  currentMki: string | undefined;
}

export interface MkiEvaluatorOptions {
  tekSource: TekSource;
  /** Called with every decrypted packet (see the module comment). */
  onPacket: (packet: Uint8Array) => void;
  /** A packet names a TGK-ID the source does not hold: re-key (e.g. KeyClient.rekeyNow). Rate-limited. */
  onUnknownTgk?: (tgkId: number) => void;
  /**
   * The SRTP profile and MKI layout to use until the TekSource knows the service's (from its key
   * messages); from then on the source's. Defaults: AES_CM_128_HMAC_SHA1_80, TGK-ID 4 ‖ TEK_RAND2 8 bytes.
   */
  profile?: SrtpProfileName;
  layout?: Partial<MkiLayout>;
  replayWindow?: number;
  core?: CryptoCore;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
  /** Token bucket for new derivations: rate per second (default 50) and burst (default 10). */
  derivationRate?: number;
  derivationBurst?: number;
  /** Concurrent derivations (default 4; a card source serialises them anyway). */
  maxInFlight?: number;
  /** Installed master keys, current and previous included (default 6, ≥ 3). */
  maxKeys?: number;
  /** Pending MKIs (candidates) held at once (default 64). */
  maxCandidates?: number;
  /** Packets queued across all pending MKIs (default 256) and per MKI (default 64); oldest dropped. */
  maxQueued?: number;
  maxQueuedPerMki?: number;
  /** Bytes queued across all pending MKIs (default 1 MiB). */
  maxQueuedBytes?: number;
  /** A pending MKI not seen for this long is dropped with its packets (default 5 s). */
  candidateTtlMs?: number;
  /** The TEK_RAND2 period of the service, if known: sets the default grace period to 2× it. */
  rotationPeriodMs?: number;
  /** How long the previous key stays for late packets (default 2 × rotationPeriodMs, else 30 s). */
  graceMs?: number;
  /** How long a derived key may go without an authentic packet (default 2 s). */
  probationMs?: number;
  /** How long a forged MKI stays negative-cached (default 60 s). */
  negativeTtlMs?: number;
  /** Entries in the LRU of recently retired / forged MKIs (default 1024). */
  recentLimit?: number;
  /** Packets an unknown-TGK MKI needs before onUnknownTgk (default 2), and the hook's interval (default 1 s). */
  unknownTgkMinPackets?: number;
  unknownTgkIntervalMs?: number;
  /** How far past the highest TGK-ID held an unknown one is plausible (default 2). */
  unknownTgkAhead?: number;
  /** No authentic packet for this long: the stream may have moved to a TGK the UE lacks (default 200 ms). */
  unknownTgkSilenceMs?: number;
  /** Wall clock for TGK expiries, ms since the epoch (default Date.now). */
  wallClock?: () => number;
  /** Retries of a derivation the source failed (default 6), backoff from 50 ms doubling up to 2 s. */
  derivationRetries?: number;
}

type KeyState = "probation" | "current" | "previous";

interface InstalledKey {
  id: string;
  mki: Uint8Array;
  state: KeyState;
  installedAt: number;
  retireAt: number;
  ok: number;
  failed: number;
  /** Clock of the last authentic packet under it. */
  lastOkAt: number;
}

interface QueuedPacket {
  data: Uint8Array;
  len: number;
  /** Set once tried: the tryUnprotect result. */
  result?: number;
}

interface Candidate {
  id: string;
  mki: Uint8Array;
  tgkId: number;
  count: number;
  firstSeen: number;
  lastSeen: number;
  queue: QueuedPacket[];
  /** Packets under it since the last authentic packet (under any key). */
  seenSinceAuth: number;
  /** Failed derivations (source faults) so far, and when the next try may start. */
  failures: number;
  retryAt: number;
  inFlight?: Promise<void>;
  /** The source answered "unknown TGK" for it: not derived again until the TGKs change. */
  waitTgk?: boolean;
}

const HOUSEKEEP_MS = 1000;
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 2000;
/** Per TGK-ID the unknown-TGK interval doubles up to this factor; at most this many TGK-IDs are tracked. */
const UNKNOWN_BACKOFF_MAX = 64;
const UNKNOWN_TRACKED = 64;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function positive(name: string, v: number, integer = true): number {
  if (!(v > 0) || (integer && !Number.isInteger(v)) || !Number.isFinite(v)) throw new MbmsError("ERR_ARGUMENT", `${name} must be a positive ${integer ? "integer" : "number"}`);
  return v;
}

export class MkiEvaluator {
  private readonly source: TekSource;
  private readonly onPacket: (packet: Uint8Array) => void;
  private readonly onUnknownTgk: ((tgkId: number) => void) | undefined;
  /** The service's profile and MKI layout: where the MKI sits (before the tag, RFC 3711 §3.1); fixed once keyed. */
  private profile: SrtpProfileName;
  private layout: MkiLayout;
  private mkiLen: number;
  private tagLen: number;
  private tgkIdSpace: number;
  private readonly replayWindow: number | undefined;
  private readonly core: CryptoCore;
  private readonly clock: () => number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxInFlight: number;
  private readonly maxKeys: number;
  private readonly maxCandidates: number;
  private readonly maxQueued: number;
  private readonly maxQueuedPerMki: number;
  private readonly maxQueuedBytes: number;
  private readonly candidateTtlMs: number;
  private readonly graceMs: number;
  private readonly probationMs: number;
  private readonly negativeTtlMs: number;
  private readonly recentLimit: number;
  private readonly unknownMin: number;
  private readonly unknownInterval: number;
  private readonly unknownAhead: number;
  private readonly silenceMs: number;
  private readonly wallClock: () => number;
  private readonly retries: number;

  private ctx: SrtpContext | undefined;
  private readonly pendingRoc = new Map<number, number>();
  private readonly installed = new Map<string, InstalledKey>();
  private current: InstalledKey | undefined;
  private previous: InstalledKey | undefined;
  /** Pending MKIs, in LRU order (least recently seen first). */
  private readonly candidates = new Map<string, Candidate>();
  /** Recently retired or forged MKIs → until when they are dropped unseen. */
  private readonly recent = new Map<string, { status: EvaluatorStatus; until: number }>();
  private queued = 0;
  private queuedBytes = 0;
  private inFlight = 0;
  /** Clock of the last packet that authenticated under any key. */
  private lastAuthAt = -Infinity;
  /** TGK-ID → when onUnknownTgk may next be called for it, and its current interval. */
  private readonly unknownBackoff = new Map<number, { nextAt: number; intervalMs: number }>();
  private tokens: number;
  private refilledAt: number;
  private nextPumpAt = Infinity;
  private nextHousekeepAt = 0;
  private known = new Set<number>();
  /** Of the TGKs the source holds (cached with `known`): the highest TGK-ID (-1: none) and the latest expiry. */
  private highestTgkId = -1;
  private latestExpiry = -Infinity;
  private knownStale = true;
  private unknownNotifiedAt = -Infinity;
  private readonly unsubscribe: (() => void) | undefined;
  private closed = false;
  private readonly s: MkiEvaluatorStats = {
    delivered: 0, authFailed: 0, replayed: 0, refused: 0, derivations: 0, derivationsRefused: 0, derivationErrors: 0,
    queuedDropped: 0, untrustedDropped: 0, forgedKeys: 0, switches: 0, unknownTgkNotified: 0, currentMki: undefined,
  };

  constructor(options: MkiEvaluatorOptions) {
    this.source = options.tekSource;
    this.onPacket = options.onPacket;
    this.onUnknownTgk = options.onUnknownTgk;
    this.profile = options.profile ?? DEFAULT_PROFILE;
    if (!SRTP_PROFILES[this.profile]) throw new MbmsError("ERR_ARGUMENT", `unknown SRTP profile ${String(this.profile)}`);
    this.layout = mkiLayout(options.layout ?? DEFAULT_MKI_LAYOUT);
    this.mkiLen = this.tagLen = this.tgkIdSpace = 0;
    this.useService(this.profile, this.layout);
    this.replayWindow = options.replayWindow;
    this.core = options.core ?? defaultCore();
    this.clock = options.now ?? (() => performance.now());
    this.rate = positive("derivationRate", options.derivationRate ?? 50, false);
    this.burst = positive("derivationBurst", options.derivationBurst ?? 10);
    this.maxInFlight = positive("maxInFlight", options.maxInFlight ?? 4);
    this.maxKeys = positive("maxKeys", options.maxKeys ?? 6);
    if (this.maxKeys < 3) throw new MbmsError("ERR_ARGUMENT", "maxKeys must be ≥ 3 (current, previous and one new key)");
    this.maxCandidates = positive("maxCandidates", options.maxCandidates ?? 64);
    this.maxQueued = positive("maxQueued", options.maxQueued ?? 256);
    this.maxQueuedPerMki = positive("maxQueuedPerMki", options.maxQueuedPerMki ?? 64);
    this.maxQueuedBytes = positive("maxQueuedBytes", options.maxQueuedBytes ?? 1 << 20);
    this.candidateTtlMs = positive("candidateTtlMs", options.candidateTtlMs ?? 5000, false);
    this.graceMs = positive("graceMs", options.graceMs ?? (options.rotationPeriodMs ? 2 * options.rotationPeriodMs : 30_000), false);
    this.probationMs = positive("probationMs", options.probationMs ?? 2000, false);
    this.negativeTtlMs = positive("negativeTtlMs", options.negativeTtlMs ?? 60_000, false);
    this.recentLimit = positive("recentLimit", options.recentLimit ?? 1024);
    this.unknownMin = positive("unknownTgkMinPackets", options.unknownTgkMinPackets ?? 2);
    this.unknownInterval = positive("unknownTgkIntervalMs", options.unknownTgkIntervalMs ?? 1000, false);
    this.unknownAhead = positive("unknownTgkAhead", options.unknownTgkAhead ?? 2);
    this.silenceMs = positive("unknownTgkSilenceMs", options.unknownTgkSilenceMs ?? 200, false);
    this.wallClock = options.wallClock ?? Date.now;
    this.retries = positive("derivationRetries", options.derivationRetries ?? 6);
    this.tokens = this.burst;
    this.refilledAt = this.clock();
    this.unsubscribe = this.source.subscribe?.(() => this.tgksChanged());
  }

  /** Counters (a snapshot). */
  get stats(): MkiEvaluatorStats {
    return { ...this.s };
  }

  /** Master keys installed in the context now (current, previous and on probation). */
  get installedKeys(): number {
    return this.installed.size;
  }

  /** Packets waiting for a TEK, and their bytes. */
  get queuedPackets(): number {
    return this.queued;
  }

  get queuedPacketBytes(): number {
    return this.queuedBytes;
  }

  /** MKIs waiting for a derivation or a TGK. */
  get pendingMkis(): number {
    return this.candidates.size;
  }

  /** Sets the ROC of `ssrc` (late join, from the key message's CS map); applied when the context exists. */
  setRoc(ssrc: number, roc: number): void {
    if (this.ctx) this.ctx.setRoc(ssrc, roc);
    else this.pendingRoc.set(ssrc >>> 0, roc);
  }

  /** Tell the evaluator the source's TGKs changed (automatic when the source has `subscribe`). */
  tgksChanged(): void {
    this.knownStale = true;
    this.adoptService();
    for (const id of this.unknownBackoff.keys()) if (this.knownTgk(id)) this.unknownBackoff.delete(id);
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
    const cur = this.current;
    if (cur !== undefined && sameBytes(buf, mkiAt, cur.mki)) return this.unprotect(cur, buf, len);
    const id = this.idOf(buf, mkiAt);
    const key = this.installed.get(id);
    if (key !== undefined) return this.unprotect(key, buf, len);
    const verdict = this.recent.get(id);
    if (verdict !== undefined) {
      if (verdict.until > now) {
        this.s.untrustedDropped++;
        return -verdict.status;
      }
      this.recent.delete(id);
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
      const cur = this.closed ? undefined : this.current;
      let j = i;
      while (cur !== undefined && j < count && this.underKey(buffer, offsets[j]!, lengths[j]!, cur.mki)) j++;
      if (j - i < 2) {
        const at = offsets[i]!, len = lengths[i]!;
        lengths[i] = this.receive(buffer.subarray(at, at + len), len);
        i++;
        continue;
      }
      this.ctx!.unprotectBatch({ buffer, offsets: offsets.subarray(i, j), lengths: lengths.subarray(i, j) });
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
    this.ctx?.close();
    this.ctx = undefined;
    this.installed.clear();
    this.current = this.previous = undefined;
    this.candidates.clear();
    this.queued = this.queuedBytes = 0;
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private idOf(buf: Uint8Array, at: number): string {
    let id = "";
    for (let i = 0; i < this.mkiLen; i++) id += String.fromCharCode(buf[at + i]!);
    return id;
  }

  /** tryUnprotect under an installed key, with the bookkeeping of its outcome. */
  private unprotect(key: InstalledKey, buf: Uint8Array, len: number): number {
    const r = this.ctx!.tryUnprotect(buf, len);
    this.account(key, r, buf);
    return r;
  }

  private account(key: InstalledKey, r: number, buf: Uint8Array): void {
    if (r >= 0) {
      key.ok++;
      key.lastOkAt = this.lastAuthAt = this.clock();
      if (key.state === "probation") this.promote(key);
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

  /** A packet under `key` authenticated: it becomes the current key. */
  private promote(key: InstalledKey): void {
    const now = this.clock();
    const old = this.current;
    if (old !== undefined) {
      if (this.previous !== undefined) this.uninstall(this.previous, EvaluatorStatus.RetiredMki, now + this.negativeTtlMs);
      old.state = "previous";
      old.retireAt = now + this.graceMs;
      this.previous = old;
      this.nextHousekeepAt = Math.min(this.nextHousekeepAt, old.retireAt);
      this.s.switches++;
    }
    key.state = "current";
    this.current = key;
    this.s.currentMki = hex(key.mki);
  }

  /** Removes an installed key (never the current one) and remembers its MKI for `until`. */
  private uninstall(key: InstalledKey, status: EvaluatorStatus, until: number): void {
    if (key === this.current) return;
    if (key === this.previous) this.previous = undefined;
    this.installed.delete(key.id);
    this.ctx?.removeKey(key.mki);
    this.remember(key.id, status, until);
  }

  private remember(id: string, status: EvaluatorStatus, until: number): void {
    this.recent.delete(id);
    this.recent.set(id, { status, until });
    if (this.recent.size > this.recentLimit) this.recent.delete(this.recent.keys().next().value!);
  }

  /** A packet under an MKI that is neither installed nor cached. */
  private admit(id: string, buf: Uint8Array, mkiAt: number, len: number, now: number): number {
    let c = this.candidates.get(id);
    if (c !== undefined) {
      this.candidates.delete(id); // re-insert: most recently seen last
      c.count++;
      c.seenSinceAuth = c.lastSeen < this.lastAuthAt ? 1 : c.seenSinceAuth + 1;
      c.lastSeen = now;
    } else {
      if (this.candidates.size >= this.maxCandidates && !this.evictCandidate()) {
        this.s.queuedDropped++;
        return -EvaluatorStatus.Queued;
      }
      let tgkId = 0;
      for (let i = 0; i < this.layout.tgkIdBytes; i++) tgkId = tgkId * 256 + buf[mkiAt + i]!;
      c = {
        id, mki: Uint8Array.prototype.slice.call(buf, mkiAt, mkiAt + this.mkiLen), tgkId, count: 1, seenSinceAuth: 1,
        firstSeen: now, lastSeen: now, queue: [], failures: 0, retryAt: -Infinity,
      };
    }
    this.candidates.set(id, c);
    // A copy of the packet's own bytes (Buffer#slice would be a view that keeps the whole datagram alive).
    const entry: QueuedPacket = { data: Uint8Array.prototype.slice.call(buf, 0, len), len };
    this.enqueue(c, entry);
    if (!this.knownTgk(c.tgkId)) {
      this.maybeNotifyUnknown(c, now);
    } else {
      this.pump(now);
    }
    if (entry.result === undefined) return -EvaluatorStatus.Queued;
    // Derived synchronously inside pump: the packet has been tried; mirror it into the caller's buffer.
    if (entry.result >= 0) buf.set(entry.data.subarray(0, entry.result));
    return entry.result;
  }

  private enqueue(c: Candidate, entry: QueuedPacket): void {
    c.queue.push(entry);
    this.queued++;
    this.queuedBytes += entry.len;
    if (c.queue.length > this.maxQueuedPerMki) this.dropOldest(c);
    while (this.queued > this.maxQueued || this.queuedBytes > this.maxQueuedBytes) {
      // Drop from the MKI with the least demand (fewest packets seen, then least recently seen).
      let victim: Candidate | undefined;
      for (const k of this.candidates.values()) {
        if (k.queue.length > 0 && (victim === undefined || k.count < victim.count)) victim = k;
      }
      if (victim === undefined) break;
      this.dropOldest(victim);
      if (victim.queue.length === 0 && victim.inFlight === undefined && victim !== c) this.candidates.delete(victim.id);
    }
  }

  private dropOldest(c: Candidate): void {
    const e = c.queue.shift()!;
    this.queued--;
    this.queuedBytes -= e.len;
    this.s.queuedDropped++;
  }

  /** The queue of `c` leaves the count (delivered or dropped). */
  private unqueueAll(c: Candidate): void {
    this.queued -= c.queue.length;
    for (const e of c.queue) this.queuedBytes -= e.len;
  }

  /** Drops the least recently seen candidate that is not being derived; false if there is none. */
  private evictCandidate(): boolean {
    for (const k of this.candidates.values()) {
      if (k.inFlight === undefined) {
        this.dropCandidate(k);
        return true;
      }
    }
    return false;
  }

  private dropCandidate(c: Candidate): void {
    this.candidates.delete(c.id);
    this.unqueueAll(c);
    this.s.queuedDropped += c.queue.length;
    c.queue.length = 0;
  }

  private knownTgk(tgkId: number): boolean {
    this.refreshKnown();
    return this.known.has(tgkId);
  }

  /** Takes the service's profile and layout once the source knows them (before the receive context exists). */
  private adoptService(): void {
    const service = this.source.parameters;
    if (service && this.ctx === undefined) this.useService(service.profile, service.layout);
  }

  private useService(profile: SrtpProfileName, layout: MkiLayout): void {
    this.profile = profile;
    this.layout = layout;
    this.mkiLen = layout.tgkIdBytes + layout.randBytes;
    this.tagLen = SRTP_PROFILES[profile].srtpTagLength;
    this.tgkIdSpace = 2 ** (8 * layout.tgkIdBytes);
  }

  /** Re-reads the source's TGKs when they may have changed (not per packet: a flood reads the cache). */
  private refreshKnown(): void {
    if (!this.knownStale) return;
    this.adoptService();
    this.known = new Set(this.source.knownTgkIds());
    this.highestTgkId = -1;
    this.latestExpiry = -Infinity;
    for (const [id, expiresAt] of this.source.tgkExpiries()) {
      this.highestTgkId = Math.max(this.highestTgkId, id);
      this.latestExpiry = Math.max(this.latestExpiry, expiresAt);
    }
    this.knownStale = false;
  }

  private maybeNotifyUnknown(c: Candidate, now: number): void {
    if (this.onUnknownTgk === undefined || c.seenSinceAuth < this.unknownMin || now - this.unknownNotifiedAt < this.unknownInterval) return;
    const backoff = this.unknownBackoff.get(c.tgkId);
    if (backoff !== undefined && now < backoff.nextAt) return;
    if (!this.rekeyWarranted(c.tgkId, now)) return;
    this.unknownNotifiedAt = now;
    this.s.unknownTgkNotified++;
    // Until that TGK arrives, each further call for it waits twice as long as the last.
    const intervalMs = Math.min(this.unknownInterval * UNKNOWN_BACKOFF_MAX, backoff ? backoff.intervalMs * 2 : this.unknownInterval);
    this.unknownBackoff.delete(c.tgkId);
    this.unknownBackoff.set(c.tgkId, { nextAt: now + intervalMs, intervalMs });
    if (this.unknownBackoff.size > UNKNOWN_TRACKED) this.unknownBackoff.delete(this.unknownBackoff.keys().next().value!);
    try {
      this.onUnknownTgk(c.tgkId);
    } catch {
      // the hook's failure is the hook's business
    }
  }

  /**
   * Whether an unknown TGK-ID is worth a key request: the plausible next TGK-ID (or none held), and either
   * every TGK held has expired or the stream has been silent under every installed key.
   */
  private rekeyWarranted(tgkId: number, now: number): boolean {
    this.refreshKnown();
    if (this.highestTgkId >= 0) {
      // TGK-IDs are allocated in sequence (modulo the ID space).
      const ahead = (tgkId - this.highestTgkId + this.tgkIdSpace) % this.tgkIdSpace;
      if (ahead < 1 || ahead > this.unknownAhead) return false;
    }
    return this.latestExpiry <= this.wallClock() || now - this.lastAuthAt >= this.silenceMs;
  }

  private refill(now: number): void {
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
      this.refilledAt = now;
    }
  }

  /** Starts derivations for the most-demanded pending MKIs while the rate limit and in-flight bound allow. */
  private pump(now: number): void {
    this.nextPumpAt = Infinity;
    this.refill(now);
    while (this.inFlight < this.maxInFlight && !this.closed) {
      let best: Candidate | undefined;
      for (const c of this.candidates.values()) {
        if (c.inFlight !== undefined || c.waitTgk || c.queue.length === 0 || !this.knownTgk(c.tgkId)) continue;
        if (c.retryAt > now) {
          this.nextPumpAt = Math.min(this.nextPumpAt, c.retryAt);
          continue;
        }
        if (best === undefined || c.count > best.count || (c.count === best.count && c.firstSeen < best.firstSeen)) best = c;
      }
      if (best === undefined) return;
      if (this.tokens < 1) {
        this.s.derivationsRefused++;
        this.nextPumpAt = Math.min(this.nextPumpAt, this.refilledAt + ((1 - this.tokens) * 1000) / this.rate);
        return;
      }
      this.tokens -= 1;
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
    if (this.candidates.get(c.id) !== c) return;
    c.failures++;
    if (c.failures > this.retries) {
      this.dropCandidate(c);
      return;
    }
    c.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (c.failures - 1));
    this.nextPumpAt = Math.min(this.nextPumpAt, c.retryAt);
  }

  /** A derivation finished: install the TEK and try the MKI's queued packets. */
  private derived(c: Candidate, tek: TekResult | undefined, now: number): void {
    if (tek === undefined) {
      // The TGK-ID is unknown after all (dropped or expired meanwhile): wait for a re-key.
      this.knownStale = true;
      c.waitTgk = true;
      this.maybeNotifyUnknown(c, now);
      return;
    }
    if (this.candidates.get(c.id) !== c) {
      // evicted meanwhile (cannot happen while in flight, but stay safe)
      tek.masterKey.fill(0);
      tek.masterSalt.fill(0);
      return;
    }
    let key: InstalledKey;
    try {
      key = this.install(c, tek, now);
    } catch {
      // The context refused the TEK (e.g. no free key slot in the core): a fault here, not a forgery.
      this.derivationFailed(c, now);
      return;
    } finally {
      tek.masterKey.fill(0);
      tek.masterSalt.fill(0);
    }
    this.candidates.delete(c.id);
    this.unqueueAll(c);
    for (const entry of c.queue) {
      if (!this.installed.has(key.id)) {
        // removed meanwhile (an onPacket callback closed us, …)
        this.s.queuedDropped++;
        continue;
      }
      entry.result = this.ctx!.tryUnprotect(entry.data, entry.len);
      this.account(key, entry.result, entry.data);
    }
    c.queue.length = 0;
  }

  private install(c: Candidate, tek: TekResult, now: number): InstalledKey {
    if (this.installed.size >= this.maxKeys) {
      let victim: InstalledKey | undefined;
      for (const k of this.installed.values()) {
        if (k.state === "probation" && (victim === undefined || k.installedAt < victim.installedAt)) victim = k;
      }
      if (victim !== undefined) {
        this.s.forgedKeys++;
        this.uninstall(victim, EvaluatorStatus.ForgedMki, now + this.negativeTtlMs);
      } else if (this.previous !== undefined) {
        this.uninstall(this.previous, EvaluatorStatus.RetiredMki, now + this.negativeTtlMs);
      }
    }
    const init = { key: tek.masterKey, salt: tek.masterSalt, mki: c.mki };
    if (this.ctx === undefined) {
      this.ctx = new SrtpContext({ profile: this.profile, keys: [init], ...(this.replayWindow ? { replayWindow: this.replayWindow } : {}) }, this.core);
      for (const [ssrc, roc] of this.pendingRoc) this.ctx.setRoc(ssrc, roc);
      this.pendingRoc.clear();
    } else {
      this.ctx.addKey(init);
    }
    const key: InstalledKey = { id: c.id, mki: c.mki, state: "probation", installedAt: now, retireAt: Infinity, ok: 0, failed: 0, lastOkAt: -Infinity };
    this.installed.set(c.id, key);
    this.nextHousekeepAt = Math.min(this.nextHousekeepAt, now + this.probationMs);
    return key;
  }

  /** Grace expiry, probation timeouts, stale candidates, TGK refresh. */
  private housekeep(now: number): void {
    let next = now + HOUSEKEEP_MS;
    const prev = this.previous, cur = this.current;
    if (prev !== undefined && cur !== undefined) {
      if (now >= prev.retireAt) {
        if (prev.lastOkAt > cur.lastOkAt) {
          // The sender went back to the previous key (or the current one was promoted by a straggler):
          // the key actually in use stays, the other gets the grace period.
          prev.state = "current";
          cur.state = "previous";
          cur.retireAt = now + this.graceMs;
          this.current = prev;
          this.previous = cur;
          this.s.currentMki = hex(prev.mki);
          this.s.switches++;
          next = Math.min(next, cur.retireAt);
        } else {
          this.uninstall(prev, EvaluatorStatus.RetiredMki, now + this.negativeTtlMs);
        }
      } else {
        next = Math.min(next, prev.retireAt);
      }
    }
    for (const c of this.candidates.values()) if (c.waitTgk && this.source.subscribe === undefined) c.waitTgk = false;
    for (const k of [...this.installed.values()]) {
      if (k.state !== "probation") continue;
      const end = k.installedAt + this.probationMs;
      if (now >= end && k.ok === 0) {
        this.s.forgedKeys++;
        this.uninstall(k, EvaluatorStatus.ForgedMki, now + this.negativeTtlMs);
      } else if (now < end) {
        next = Math.min(next, end);
      }
    }
    for (const c of [...this.candidates.values()]) {
      if (c.inFlight === undefined && now - c.lastSeen > this.candidateTtlMs) this.dropCandidate(c);
    }
    this.knownStale = true;
    this.nextHousekeepAt = next;
  }
}

function sameBytes(buf: Uint8Array, at: number, mki: Uint8Array): boolean {
  for (let i = 0; i < mki.length; i++) if (buf[at + i] !== mki[i]) return false;
  return true;
}
