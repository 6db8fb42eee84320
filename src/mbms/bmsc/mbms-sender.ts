/**
 * The BM-SC's SRTP sender at the session level (no sockets): one service's TEK events from the
 * SessionManager → one SrtpContext in MKI mode (MKI = TGK-ID ‖ TEK_RAND2), switching the send key when each
 * TEK_RAND2 period starts and retiring the old one at once (a sender never needs it again), so the context
 * holds the current key and at most the keys announced for later.
 *
 * What it refuses, loudly (stats, `onError`), instead of going on under an old key:
 *   - a TEK it could not install: the sender stops (state "failed") — the receivers follow the MKI, and a
 *     stream stuck on one TEK long after its TGK expired is the failure this class exists to prevent;
 *   - a packet under a TEK whose TGK has expired: it asks the manager for the schedule step that is due
 *     (`tick`, which awaits the store) and withholds the packet: the packets after it go out under the new
 *     TEK once the step has announced it;
 *   - a resumed TEK (announced at start from the store): an earlier sender used its SRTP indices, and one
 *     keystream must never protect two packets (RFC 3711 §9.1); `start` takes a fresh TEK instead.
 */
import { unrefTimer } from "../../clock.js";
import type { PacketBatch } from "../../srtp/batch.js";
import { SrtpContext } from "../../srtp/context.js";
import type { MasterKeyInit } from "../../srtp/options.js";
import type { SrtpProfileName } from "../../srtp/profiles.js";
import type { CryptoCore } from "../../wasm/core.js";
import { MbmsError } from "../errors.js";
import type { SessionManager } from "./session-manager.js";
import type { TekEvent } from "./tek-event.js";
import { scheduledTekSwitches } from "./tek-schedule.js";
import type { SsrcRegistration } from "./ssrc-registry.js";
import type { StreamReport } from "../stream-positions.js";
import { StreamPublisher } from "./stream-publisher.js";

export interface MbmsSenderOptions {
  manager: SessionManager;
  serviceId: string;
  core?: CryptoCore;
  /** A TEK that could not be installed (the sender has stopped). */
  onError?: (error: MbmsError) => void;
  /**
   * The SSRC this sender's packets carry, registered unique for the service (ssrc-registry.ts). With it, a
   * TEK already in force (resumed, or another instance's rotation) is safe to send under — distinct SSRCs
   * never share a keystream (RFC 3711 §9.1) — so `start` takes that TEK instead of forcing a rotation,
   * which only the schedule's owner may do when several instances share the store.
   */
  ssrc?: SsrcRegistration;
  /**
   * Told every key change as it is made in this sender's context (e.g. to key a crypto worker pool the
   * same way, which then protects the packets `admit` let through): install (`init` is zeroed once it
   * returns: copy it), send-key switch, removal.
   */
  keyMirror?: SendKeyMirror;
  /**
   * This sender's streams (SSRC, ROC) for the key messages (SessionManager.streams); default: those of its
   * own context. A caller protecting elsewhere (keyMirror) reports where the indices are kept.
   */
  streams?: StreamReport;
}

export interface SendKeyMirror {
  added(init: MasterKeyInit, profile: SrtpProfileName): void;
  sendKey(mki: Uint8Array): void;
  removed(mki: Uint8Array): void;
}

export type MbmsSenderState = "unkeyed" | "sending" | "failed";

export interface MbmsSenderStats {
  state: MbmsSenderState;
  /** Packets protected. */
  packets: number;
  /** Send-key changes (the first key is not a switch). */
  tekSwitches: number;
  /** Master keys in the context now, and the most it ever held. */
  installedKeys: number;
  peakInstalledKeys: number;
  installFailures: number;
  /** Packets not protected: no TEK yet, the sender failed, or the TGK of the TEK in force had expired. */
  withheld: number;
  /** Of those, packets withheld because the TGK had expired and no new TEK was in force. */
  withheldExpiredTgk: number;
  /** Error code of the failure, in state "failed". */
  errorCode?: string;
}

/** The run checked against the service's schedule (scheduledTekSwitches). */
export interface TekScheduleCheck {
  expected: number;
  actual: number;
  /** actual within ±1 of expected (a run's ends fall anywhere in a period). */
  ok: boolean;
}

interface SendKey {
  mki: Uint8Array;
  startsAt: number;
  tgkExpiresAt: number;
}

/** The manager's schedule step is pulled at most this often while the TEK in force is expired. */
const PULL_INTERVAL_MS = 50;

export class MbmsSender {
  readonly serviceId: string;
  private readonly manager: SessionManager;
  private readonly core: CryptoCore | undefined;
  private readonly onError: ((error: MbmsError) => void) | undefined;
  private readonly keyMirror: SendKeyMirror | undefined;
  /** The registered SSRC (MbmsSenderOptions.ssrc), if any. */
  readonly ssrc: SsrcRegistration | undefined;
  private readonly unsubscribe: () => void;
  /** Writes this sender's streams to the store, for the key messages of other instances (stream-publisher.ts). */
  private readonly publisher: StreamPublisher;
  private readonly timers = new Set<unknown>();
  private ctx: SrtpContext | undefined;
  private current: SendKey | undefined;
  private pending: SendKey[] = [];
  private first: SendKey | undefined;
  private pulledAt = -Infinity;
  private closed = false;
  private readonly s: MbmsSenderStats = {
    state: "unkeyed", packets: 0, tekSwitches: 0, installedKeys: 0, peakInstalledKeys: 0, installFailures: 0, withheld: 0, withheldExpiredTgk: 0,
  };

  constructor(options: MbmsSenderOptions) {
    this.manager = options.manager;
    this.serviceId = options.serviceId;
    if (!this.manager.hasService(this.serviceId)) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(this.serviceId)} not managed`);
    this.core = options.core;
    this.onError = options.onError;
    this.keyMirror = options.keyMirror;
    this.ssrc = options.ssrc;
    const unsubscribe = this.manager.onTek((e) => {
      if (e.serviceId === this.serviceId && (!e.resumed || this.ssrc)) this.onTek(e);
    });
    const report = options.streams ?? (() => this.ctx?.sendStreams() ?? []);
    const unlist = this.manager.streams.add(this.serviceId, report);
    this.publisher = new StreamPublisher(this.manager.store, this.manager.clock, this.serviceId, report);
    this.unsubscribe = () => {
      unsubscribe();
      unlist();
    };
  }

  get stats(): MbmsSenderStats {
    return { ...this.s };
  }

  /** Whether a packet would be protected now (a TEK in force, not failed). */
  get ready(): boolean {
    return this.s.state === "sending";
  }

  /** MKI + tag bytes appended to each packet (known once the first TEK is installed). */
  get trailerLength(): number {
    if (!this.ctx) throw new MbmsError("ERR_NOT_FOUND", "no TEK yet");
    return this.ctx.trailerLength;
  }

  /**
   * Call after `manager.start()` resolved: if no fresh TEK is in force (the one in force was resumed from
   * the store, or none was announced), starts a new TEK_RAND2 period now; resolves once it is announced.
   * With a registered `ssrc`, takes the TEK in force instead (ERR_NOT_FOUND while the store has none).
   */
  async start(): Promise<void> {
    if (this.closed || this.current !== undefined || this.s.state === "failed") return;
    if (!this.ssrc) return this.manager.rotateTekNow(this.serviceId);
    const tek = await this.manager.currentTek(this.serviceId);
    try {
      if (this.current === undefined) this.onTek({ ...tek, resumed: true });
    } finally {
      tek.masterKey.fill(0);
      tek.masterSalt.fill(0);
    }
  }

  /** Protects `buf[0..len)` in place (room for the trailer after it). Returns the SRTP length, or -1 if withheld. */
  protect(buf: Uint8Array, len: number): number {
    return this.admit(1) ? this.ctx!.protect(buf, len) : -1;
  }

  /** Protects a batch in place (SrtpContext.protectBatch). False, and nothing protected, if withheld. */
  protectBatch(batch: PacketBatch): boolean {
    if (!this.admit(batch.count ?? batch.offsets.length)) return false;
    this.ctx!.protectBatch(batch);
    return true;
  }

  /**
   * Whether `count` packets may be protected now under the send key (switching it first if a switch is
   * due), counted as protected; if not, they are withheld and counted. protect and protectBatch ask it;
   * a caller protecting elsewhere under the keyMirror's keys asks it for each batch.
   */
  admit(count: number): boolean {
    if (!this.usable(count)) return false;
    this.s.packets += count;
    return true;
  }

  /** Makes a send-key switch that is due now (its timer not run yet); whether packets would be admitted. Counts nothing. */
  refresh(): boolean {
    return this.usable(0);
  }

  /** The TEK switches made up to `endMs` against those the service's schedule promises since the first TEK. */
  scheduleCheck(endMs: number = this.manager.clock.now()): TekScheduleCheck {
    const actual = this.s.tekSwitches;
    if (!this.first) return { expected: 0, actual, ok: actual === 0 };
    const sched = this.manager.schedule(this.serviceId);
    const expected = scheduledTekSwitches({ firstStart: this.first.startsAt, firstTgkExpiresAt: this.first.tgkExpiresAt, ...sched }, endMs);
    return { expected, actual, ok: Math.abs(actual - expected) <= 1 };
  }

  /** Stops listening and zeroes every key. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    void this.publisher.stop();
    for (const t of this.timers) this.manager.clock.clearTimer(t);
    this.timers.clear();
    this.ctx?.close();
    this.ctx = undefined;
    this.current = undefined;
    this.pending = [];
    this.s.installedKeys = 0;
  }

  // ---- internals ----

  private usable(count: number): boolean {
    if (this.s.state === "sending") {
      const now = this.manager.clock.now();
      // Keys announced ahead (a prepared TGK change) whose start has come, their timers not yet run: the latest.
      const due = this.pending.filter((k) => k.startsAt <= now);
      for (const k of due.slice(0, -1)) this.retire(k);
      if (due.length > 0) this.switchTo(due[due.length - 1]!);
      if (now >= this.current!.tgkExpiresAt && now - this.pulledAt >= PULL_INTERVAL_MS) {
        // The step that retires the TGK may not have run yet (timers are late): ask for it (it never
        // rejects; a step already queued is joined), it may install a TEK for the next packets.
        this.pulledAt = now;
        void this.manager.tick();
      }
      if (now < this.current!.tgkExpiresAt) return true;
      this.s.withheldExpiredTgk += count;
    }
    this.s.withheld += count;
    return false;
  }

  private onTek(e: TekEvent): void {
    // A TEK installed already: `start` took the one in force, which the next schedule step may announce too.
    if (this.closed || this.s.state === "failed" || this.ctx?.hasKey(e.mki)) return;
    const key: SendKey = { mki: e.mki.slice(), startsAt: e.startsAt, tgkExpiresAt: e.tgkExpiresAt };
    try {
      // Copies: the manager zeroes masterKey/masterSalt once the listeners return.
      const init = { key: e.masterKey.slice(), salt: e.masterSalt.slice(), mki: key.mki };
      try {
        if (!this.ctx) this.ctx = new SrtpContext({ profile: e.profile, keys: [init] }, ...(this.core ? [this.core] : []));
        else if (this.ctx.profile !== e.profile) throw new MbmsError("ERR_ARGUMENT", "the service's SRTP profile changed");
        else this.ctx.addKey(init);
        this.keyMirror?.added(init, e.profile);
      } finally {
        init.key.fill(0);
        init.salt.fill(0);
      }
    } catch (err) {
      this.fail(err);
      throw err; // the manager counts and logs it too
    }
    this.s.installedKeys++;
    this.s.peakInstalledKeys = Math.max(this.s.peakInstalledKeys, this.s.installedKeys);
    this.first ??= key;
    const now = this.manager.clock.now();
    const delay = key.startsAt - now;
    // The first key at once (a forced period may start a millisecond ahead), unless its TGK is not valid yet.
    if (delay <= 0 || (this.current === undefined && e.tgkValidFrom <= now)) {
      this.switchTo(key);
      return;
    }
    this.pending.push(key);
    const t = this.manager.clock.setTimer(() => {
      this.timers.delete(t);
      if (!this.closed && this.pending.includes(key)) this.switchTo(key);
    }, delay);
    unrefTimer(t); // a pending switch never keeps the process alive (the socket or the caller does)
    this.timers.add(t);
  }

  /**
   * Sends under `key` from now on and retires the key it replaces. Keys announced for later stay: periods
   * only move forward (the store's rotation is compare-and-set), so they start after `key`.
   */
  private switchTo(key: SendKey): void {
    this.ctx!.setSendKey(key.mki);
    this.keyMirror?.sendKey(key.mki);
    const old = this.current;
    this.current = key;
    this.s.state = "sending";
    this.pending = this.pending.filter((k) => k !== key && this.ctx!.hasKey(k.mki));
    if (old !== undefined) {
      this.s.tekSwitches++;
      this.retire(old);
    }
  }

  private retire(key: SendKey): void {
    if (this.ctx?.hasKey(key.mki)) {
      this.ctx.removeKey(key.mki);
      this.keyMirror?.removed(key.mki);
      this.s.installedKeys--;
    }
  }

  private fail(err: unknown): void {
    this.s.installFailures++;
    this.s.state = "failed";
    const code = (err as { code?: unknown })?.code;
    this.s.errorCode = typeof code === "string" ? code : "unknown";
    // No key bytes in the message: the code and the service only.
    this.onError?.(new MbmsError("ERR_KEY_INSTALL", `service ${JSON.stringify(this.serviceId)}: a TEK could not be installed (${this.s.errorCode}); the sender stopped`));
  }
}
