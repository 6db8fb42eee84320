/**
 * The BM-SC Session Manager (design.md §1): per MBMS service it generates the TGKs (with TGK-IDs and
 * TGK_LIFE), TEK_RAND once, and TEK_RAND2 on a schedule; it tells the SRTP sender about every new TEK
 * (MKI = TGK-ID ‖ TEK_RAND2) and builds the per-user MIKEY key messages the key server hands out.
 *
 * All state lives in the KeyStore, written before it is used: a new SessionManager on the same store (an
 * SQLite file after a restart) resumes with the same TGKs, TEK_RAND and TEK_RAND2, hence the same MKI and TEK.
 *
 * Schedule, per service:
 * - TGK n is valid [validFrom, validFrom + tgkLifetimeMs); TGK n+1 is generated `nextTgkLeadMs` before
 *   TGK n expires and becomes valid when it expires. Every key message carries the current TGK and every
 *   future TGK already generated (implosion mitigation: several TGKs in one message).
 * - TEK_RAND2 rotates every `tekRand2PeriodMs` (periods aligned on the first one, so a restart keeps the
 *   grid) and whenever the TGK in force changes. A fresh 8..16 random bytes each time, persisted with
 *   KeyStore.rotateTekRand2 (compare-and-set: of several BM-SC instances the first wins, the others read
 *   the winner's value back) before any TEK derived from it is announced.
 * - Retrieval window (implosion mitigation: the BM-SC assigns windows): a user that received TGKs up to
 *   expiry E must come back in [E − nextTgkLeadMs, E − nextTgkLeadMs/2). That window is cut into
 *   `rekeySlots` equal slots; each user gets one slot, by hash of (user, service, last TGK-ID) by default or
 *   at random, and is told `from` = the slot's start and `window` = the slot's length; the UE picks a
 *   uniformly random time inside it. TGK n+1 exists from E − nextTgkLeadMs on, so every request in the
 *   window gets it.
 */
import type { CryptoCore } from "../../wasm/core.js";
import { defaultCore } from "../../wasm/default-core.js";
import { SRTP_PROFILES, DEFAULT_PROFILE, type SrtpProfileName } from "../../srtp/profiles.js";
import { MAX_MKI_LENGTH } from "../../srtp/options.js";
import { MbmsError } from "../errors.js";
import { buildMbmsKeyMessage, type TgkGrant } from "../key-message.js";
import {
  buildMki, deriveSrtpMasterKeys, mkiLayout, mkiLength, type MkiLayout, type TekDerivation,
} from "../key-hierarchy.js";
import type { KeyStore, ServiceRecord, TekRand2State, TgkRecord } from "./store/index.js";
import { reconcileUsers, type ConfiguredUser, type ReconcileResult } from "./reconcile-users.js";

// ---- clock ----------------------------------------------------------------------------------------

/** Time source and one-shot timers; injectable so that tests run fast and deterministically. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Date.now() and unref'd setTimeout (a pending rotation never keeps the process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A clock that moves only when told: `advance(ms)` runs the timers that fall due, in order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  setTimer(fn: () => void, delayMs: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pendingTimers(): number {
    return this.#timers.size;
  }
  /** Moves time forward by `ms`, running due timers (timers they set run too if due). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = end;
  }
}

// ---- configuration ---------------------------------------------------------------------------------

export interface ServiceConfig {
  serviceId: string;
  /** CSB ID of the service's MIKEY messages (default: random u32 when the service is created). */
  csbId?: number;
  /**
   * cs_id of the SRTP crypto session: 1, the only value a key message can carry. RFC 3830 §4.1.3 derives
   * the TEK with the cs_id, and §6.1.1 numbers crypto sessions by their position in the CS ID map; the
   * MBMS key message maps one stream, so receivers derive with 1 and any other value is refused.
   */
  csId?: number;
  /** SRTP profile (default AES_CM_128_HMAC_SHA1_80); TEKs are its master key length (16 or 32 bytes). */
  profile?: SrtpProfileName;
  /**
   * TGK length, 16 or 32 bytes (default: the profile's key length). The key message carries the TGK, so
   * receivers need no setting; a stored service keeps the length of its TGKs.
   */
  tgkLength?: 16 | 32;
  /** TGK_LIFE (default 24 h). */
  tgkLifetimeMs?: number;
  /** TEK_RAND2 period (default 10 min). */
  tekRand2PeriodMs?: number;
  /** How long before the current TGK expires the next one is generated (default tgkLifetimeMs / 4). */
  nextTgkLeadMs?: number;
}

export type RekeySpread = "hash" | "random";

/** The cs_id receivers derive with: the stream's position in the key message's SRTP-ID map (RFC 3830 §6.1.1). */
const KEY_MESSAGE_CS_ID = 1;
const CS_ID_REFUSED = "cs_id must be 1, the stream's position in the key message's CS ID map (receivers derive with it)";

export interface LogFields {
  [k: string]: string | number | boolean | undefined;
}
/** Log lines carry identifiers, times and counts only — never key bytes, TEK_RAND(2), MKIs or nonces. */
export type Logger = (level: "info" | "warn" | "error", message: string, fields?: LogFields) => void;

export const consoleLogger: Logger = (level, message, fields) => {
  const line = fields ? `${message} ${JSON.stringify(fields)}` : message;
  (level === "info" ? console.info : level === "warn" ? console.warn : console.error)(`[bmsc] ${line}`);
};
export const silentLogger: Logger = () => {};

export interface TekEvent {
  serviceId: string;
  /** MKI = TGK-ID ‖ TEK_RAND2: the SRTP sender's addKey + setSendKey. */
  mki: Uint8Array;
  /** The TEK (SRTP master key) and the master salt. Zeroed after the listeners return: copy to keep. */
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  tgkId: number;
  /** The SRTP profile of the service: the sender's context must use it. */
  profile: SrtpProfileName;
  /** Validity of the TGK the TEK derives from, ms: no packet may be protected under it from `tgkExpiresAt` on. */
  tgkValidFrom: number;
  tgkExpiresAt: number;
  /** When this TEK came into force (the TEK_RAND2 period start), ms. */
  startsAt: number;
  /** true for the announcement at start() of a TEK already in force (e.g. after a restart). */
  resumed: boolean;
}

export interface SessionManagerOptions {
  store: KeyStore;
  services?: ServiceConfig[];
  /** The BM-SC's identity in key messages (IDi), default "bmsc.mbms.invalid". */
  bmscId?: string;
  clock?: Clock;
  onTek?: (event: TekEvent) => void;
  logger?: Logger;
  /** MKI layout (default TGK-ID 4 bytes ‖ TEK_RAND2 8 bytes). */
  layout?: Partial<MkiLayout>;
  /** TEK derivation (default "alt1": TEK = f(TGK, TEK_RAND, TEK_RAND2)). */
  derivation?: TekDerivation;
  /** How users are spread over the retrieval window (default "hash"). */
  rekeySpread?: RekeySpread;
  /** Number of slots the retrieval window is cut into (default 16). */
  rekeySlots?: number;
  /** Retry delay after a failed schedule step (default 1 s). */
  retryMs?: number;
  core?: CryptoCore;
}

interface ServiceState {
  readonly serviceId: string;
  readonly csbId: number;
  readonly csId: number;
  readonly profile: SrtpProfileName;
  /** TEK length: the profile's master key (16 or 32). */
  readonly tekLength: 16 | 32;
  readonly tgkLength: 16 | 32;
  readonly tgkLifetimeMs: number;
  readonly tekRand2PeriodMs: number;
  readonly nextTgkLeadMs: number;
}

export interface KeyResponse {
  /** The MIKEY key message (application/mikey). */
  body: Uint8Array;
  /** The retrieval window for the next re-key request: [rekeyFrom, rekeyFrom + rekeyWindow). */
  rekeyFrom: number;
  rekeyWindow: number;
  /** TGK-IDs carried, current first. */
  tgkIds: number[];
}

const HOUR = 3_600_000;
const DEFAULT_LIFETIME = 24 * HOUR;
const DEFAULT_PERIOD = 10 * 60_000;
const TEK_RAND_BYTES = 16;

const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

/**
 * A uniform integer in [0, n) from the CSPRNG, 1 <= n <= 2^32: rejection sampling drops the top
 * 2^32 mod n values of a u32, so that `x % n` has no modulo bias.
 */
export function randomBelow(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32) throw new MbmsError("ERR_ARGUMENT", "n must be an integer in 1..2^32");
  const limit = 2 ** 32 - (2 ** 32 % n);
  const u = new Uint32Array(1);
  for (;;) {
    globalThis.crypto.getRandomValues(u);
    if (u[0]! < limit) return u[0]! % n;
  }
}

function positiveInt(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new MbmsError("ERR_ARGUMENT", `${what} must be a positive integer of milliseconds`);
  return v;
}

/** Zeroes the key bytes of TGK records read from the store (copies) once they are no longer needed. */
function wipe(tgks: TgkRecord[]): TgkRecord[] {
  for (const t of tgks) t.tgk.fill(0);
  return tgks;
}

/** FNV-1a, 32 bits: spreads users over slots (not a security function). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SessionManager {
  readonly store: KeyStore;
  readonly clock: Clock;
  readonly bmscId: string;
  readonly layout: MkiLayout;
  readonly derivation: TekDerivation;
  #core: CryptoCore;
  #log: Logger;
  #listeners = new Set<(e: TekEvent) => void>();
  #services = new Map<string, ServiceState>();
  /** Last announced (TGK-ID, TEK_RAND2 period start) per service, to announce each TEK once. */
  #announced = new Map<string, string>();
  #timer: unknown;
  #running = false;
  #spread: RekeySpread;
  #slots: number;
  #retryMs: number;
  #maxTgkId: number;
  #listenerFailures = 0;

  constructor(options: SessionManagerOptions) {
    if (!options || typeof options !== "object" || !options.store) throw new MbmsError("ERR_ARGUMENT", "a KeyStore is required");
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.bmscId = options.bmscId ?? "bmsc.mbms.invalid";
    this.layout = mkiLayout(options.layout);
    // The MKI must fit an SRTP context's (RFC 3711 leaves the length to key management; ours holds ≤ 16).
    if (mkiLength(this.layout) > MAX_MKI_LENGTH) {
      throw new MbmsError("ERR_MKI_LAYOUT", `an SRTP MKI is at most ${MAX_MKI_LENGTH} bytes; the layout makes ${mkiLength(this.layout)}`);
    }
    this.derivation = options.derivation ?? "alt1";
    if (this.derivation !== "alt1" && this.derivation !== "alt2") throw new MbmsError("ERR_ARGUMENT", "derivation is \"alt1\" or \"alt2\"");
    this.#core = options.core ?? defaultCore();
    this.#log = options.logger ?? consoleLogger;
    this.#spread = options.rekeySpread ?? "hash";
    if (this.#spread !== "hash" && this.#spread !== "random") throw new MbmsError("ERR_ARGUMENT", "rekeySpread is \"hash\" or \"random\"");
    this.#slots = options.rekeySlots ?? 16;
    if (!Number.isSafeInteger(this.#slots) || this.#slots < 1 || this.#slots > 1_000_000) throw new MbmsError("ERR_ARGUMENT", "rekeySlots must be an integer in 1..10^6");
    this.#retryMs = positiveInt("retryMs", options.retryMs ?? 1000);
    this.#maxTgkId = 2 ** (8 * this.layout.tgkIdBytes) - 1;
    if (options.onTek) this.#listeners.add(options.onTek);
    for (const s of options.services ?? []) this.addService(s);
  }

  // ---- users ----

  /**
   * Registers a user and its KEK (16 or 32 bytes; the store keeps a copy), subscribed to `services`
   * (default: every service managed now; a service added later needs a subscription of its own).
   */
  addUser(userId: string, kek: Uint8Array, services: readonly string[] = this.serviceIds): void {
    this.store.addUser({ userId, kek, createdAt: this.clock.now(), services });
  }

  /**
   * Makes the stored users those of `users` (reconcile-users.ts): adds, re-keys, re-subscribes, disables
   * the users not listed (kept, not removed) and enables listed ones. A user without `services` is
   * subscribed to every managed service. Call it after the services are added, before serving.
   */
  reconcileUsers(users: readonly ConfiguredUser[]): ReconcileResult {
    const r = reconcileUsers(this.store, users, { allServices: this.serviceIds, now: this.clock.now(), core: this.#core });
    this.#log("info", "users reconciled", { ...r });
    return r;
  }

  removeUser(userId: string): boolean {
    return this.store.removeUser(userId);
  }

  setUserDisabled(userId: string, disabled: boolean): void {
    this.store.setUserDisabled(userId, disabled);
  }

  // ---- services ----

  /**
   * Adds a service (creating it in the store with a fresh TEK_RAND, or resuming the stored one) and
   * makes sure it has its TGKs. A stored service must match the configured CSB ID and profile.
   */
  addService(config: ServiceConfig): void {
    if (!config || typeof config !== "object") throw new MbmsError("ERR_ARGUMENT", "service config must be an object");
    const profile = config.profile ?? DEFAULT_PROFILE;
    const p = SRTP_PROFILES[profile];
    if (!p) throw new MbmsError("ERR_ARGUMENT", "unknown SRTP profile");
    const tgkLifetimeMs = positiveInt("tgkLifetimeMs", config.tgkLifetimeMs ?? DEFAULT_LIFETIME);
    const tekRand2PeriodMs = positiveInt("tekRand2PeriodMs", config.tekRand2PeriodMs ?? DEFAULT_PERIOD);
    const nextTgkLeadMs = positiveInt("nextTgkLeadMs", config.nextTgkLeadMs ?? Math.max(1, Math.floor(tgkLifetimeMs / 4)));
    if (nextTgkLeadMs >= tgkLifetimeMs) throw new MbmsError("ERR_ARGUMENT", "nextTgkLeadMs must be shorter than tgkLifetimeMs");
    if (config.csId !== undefined && config.csId !== KEY_MESSAGE_CS_ID) throw new MbmsError("ERR_ARGUMENT", CS_ID_REFUSED);
    const tgkLength = config.tgkLength ?? (p.keyLength as 16 | 32);
    if (tgkLength !== 16 && tgkLength !== 32) throw new MbmsError("ERR_ARGUMENT", "tgkLength is 16 or 32 bytes");
    if (this.#services.has(config.serviceId)) throw new MbmsError("ERR_DUPLICATE", `service ${JSON.stringify(config.serviceId)} already managed`);
    let rec = this.store.getService(config.serviceId);
    if (!rec) {
      const csbId = config.csbId ?? new DataView(random(4).buffer).getUint32(0);
      this.store.addService({
        serviceId: config.serviceId, csbId, csId: KEY_MESSAGE_CS_ID, srtpProfile: profile, tekRand: random(TEK_RAND_BYTES),
      });
      rec = this.store.getService(config.serviceId)!;
      this.#log("info", "service created", { serviceId: config.serviceId, profile });
    } else {
      if (config.csbId !== undefined && config.csbId !== rec.csbId) throw new MbmsError("ERR_ARGUMENT", "the stored service has another CSB ID");
      if (rec.csId !== KEY_MESSAGE_CS_ID) throw new MbmsError("ERR_ARGUMENT", `the stored service has cs_id ${rec.csId}: ${CS_ID_REFUSED}`);
      if (rec.srtpProfile !== profile) throw new MbmsError("ERR_ARGUMENT", "the stored service has another SRTP profile");
      const stored = this.store.listTgks(rec.serviceId).map((t) => t.tgk.fill(0).length);
      const other = stored.find((length) => length !== tgkLength);
      if (other) throw new MbmsError("ERR_ARGUMENT", `the stored service's TGKs are ${other} bytes, not ${tgkLength}`);
      this.#log("info", "service resumed", { serviceId: config.serviceId, profile });
    }
    this.#services.set(rec.serviceId, {
      serviceId: rec.serviceId, csbId: rec.csbId, csId: rec.csId, profile, tekLength: p.keyLength as 16 | 32, tgkLength,
      tgkLifetimeMs, tekRand2PeriodMs, nextTgkLeadMs,
    });
    this.#ensureTgks(this.#services.get(rec.serviceId)!, this.clock.now());
    if (this.#running) this.#reschedule();
  }

  get serviceIds(): string[] {
    return [...this.#services.keys()];
  }

  hasService(serviceId: string): boolean {
    return this.#services.has(serviceId);
  }

  // ---- TEK listeners ----

  onTek(listener: (e: TekEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- schedule ----

  /** Announces the TEKs in force (resumed: true) and starts the timers. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.tick(true);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  get running(): boolean {
    return this.#running;
  }

  /** TEK events a listener threw on (each also logged at level "error"). */
  get listenerFailures(): number {
    return this.#listenerFailures;
  }

  /** The TEK_RAND2 period and TGK lifetime of a managed service (what its sender's schedule promises). */
  schedule(serviceId: string): { tekRand2PeriodMs: number; tgkLifetimeMs: number } {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not managed`);
    return { tekRand2PeriodMs: s.tekRand2PeriodMs, tgkLifetimeMs: s.tgkLifetimeMs };
  }

  /**
   * One schedule step at clock.now(): new TGKs where due, TEK_RAND2 rotation where due, TEK events.
   * start() and the timers call it; tests may too.
   */
  tick(announceCurrent = false): void {
    const now = this.clock.now();
    let failed = false;
    for (const s of this.#services.values()) {
      try {
        wipe(this.#ensureTgks(s, now));
        this.#ensureTek(s, now, announceCurrent);
      } catch (e) {
        failed = true;
        this.#log("error", "schedule step failed", { serviceId: s.serviceId, code: (e as { code?: string }).code ?? "unknown" });
      }
    }
    this.#reschedule(failed ? this.#retryMs : undefined);
  }

  #reschedule(forcedDelay?: number): void {
    if (!this.#running) return;
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    const now = this.clock.now();
    let next = Infinity;
    for (const s of this.#services.values()) {
      try {
        const tgks = wipe(this.#liveTgks(s.serviceId, now));
        const cur = tgks.find((t) => t.validFrom <= now);
        const last = tgks[tgks.length - 1];
        if (last) next = Math.min(next, last.expiresAt - s.nextTgkLeadMs);
        if (cur) next = Math.min(next, cur.expiresAt);
        // The end of the period in force: due now if it has passed. (Aligning on `now` instead skipped a
        // period whenever a timer fired a millisecond early by Date.now and this read the clock again on
        // the boundary: the soak test caught 2 of 60 periods missing.)
        const st = this.store.getTekRand2(s.serviceId);
        if (st) next = Math.min(next, st.currentStart + s.tekRand2PeriodMs);
      } catch {
        next = Math.min(next, now + this.#retryMs);
      }
    }
    // After a failed step the next is in retryMs, not sooner: a step that is due and keeps failing (the
    // store gone) would otherwise run again at once, forever.
    if (forcedDelay !== undefined) next = now + forcedDelay;
    if (next === Infinity) return;
    this.#timer = this.clock.setTimer(() => {
      this.#timer = undefined;
      if (this.#running) this.tick();
    }, Math.max(0, next - now));
  }

  /** The service's TGKs not yet expired at `now`, soonest expiry first. */
  #liveTgks(serviceId: string, now: number): TgkRecord[] {
    return this.store.listTgks(serviceId).filter((t) => t.expiresAt > now);
  }

  /** Makes sure a TGK is in force and, `nextTgkLeadMs` before it expires, the next one exists. */
  #ensureTgks(s: ServiceState, now: number): TgkRecord[] {
    let tgks = this.#liveTgks(s.serviceId, now);
    if (!tgks.some((t) => t.validFrom <= now)) {
      // Nothing in force (new service, or the BM-SC was down past the last expiry): a TGK from now.
      const start = tgks.length > 0 ? Math.min(now, tgks[0]!.validFrom) : now;
      const end = tgks.length > 0 ? tgks[0]!.validFrom : now + s.tgkLifetimeMs;
      if (end > start) this.#newTgk(s, start, end);
      tgks = this.#liveTgks(s.serviceId, now);
    }
    for (let last = tgks[tgks.length - 1]!; last.expiresAt - now <= s.nextTgkLeadMs; last = tgks[tgks.length - 1]!) {
      this.#newTgk(s, last.expiresAt, last.expiresAt + s.tgkLifetimeMs);
      tgks = this.#liveTgks(s.serviceId, now);
    }
    this.store.deleteExpiredTgks(now, s.serviceId);
    return tgks;
  }

  #newTgk(s: ServiceState, validFrom: number, expiresAt: number): void {
    const tgkId = this.store.allocateTgkId(s.serviceId, this.#maxTgkId);
    const tgk = random(s.tgkLength);
    try {
      this.store.addTgk({ serviceId: s.serviceId, tgkId, tgk, validFrom, expiresAt });
    } finally {
      tgk.fill(0);
    }
    this.#log("info", "TGK generated", { serviceId: s.serviceId, tgkId, validFrom, expiresAt });
  }

  /**
   * Starts a new TEK_RAND2 period of `serviceId` now (persisted, then announced). For a sender that cannot
   * continue the SRTP packet index of the TEK in force — a restarted sender's index starts over, and one
   * keystream must never protect two packets (RFC 3711 §9.1) — or for an early key change.
   */
  rotateTekNow(serviceId: string): void {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not managed`);
    this.#ensureTek(s, this.clock.now(), false, true);
  }

  /** Rotates TEK_RAND2 when its period ended, the TGK changed or `force`, and announces a new TEK. */
  #ensureTek(s: ServiceState, now: number, announceCurrent: boolean, force = false): void {
    const live = this.#liveTgks(s.serviceId, now);
    const tgk = live.find((t) => t.validFrom <= now);
    wipe(live.filter((t) => t !== tgk));
    if (!tgk) throw new MbmsError("ERR_NOT_FOUND", "no TGK in force");
    try {
      this.#rotateAndAnnounce(s, tgk, now, announceCurrent, force);
    } finally {
      tgk.tgk.fill(0);
    }
  }

  #rotateAndAnnounce(s: ServiceState, tgk: TgkRecord, now: number, announceCurrent: boolean, force: boolean): void {
    let st = this.store.getTekRand2(s.serviceId);
    const due = force || !st || now >= st.currentStart + s.tekRand2PeriodMs || st.currentStart < tgk.validFrom;
    if (due) {
      const aligned = st ? st.currentStart + Math.floor((now - st.currentStart) / s.tekRand2PeriodMs) * s.tekRand2PeriodMs : now;
      // Forced: a new period from now on (after the current one's start: the store only moves forward).
      const startsAt = force ? Math.max(now, (st?.currentStart ?? -1) + 1) : Math.min(now, Math.max(aligned, tgk.validFrom));
      const rand2 = random(this.layout.randBytes);
      try {
        // Persisted before use: a crash after this line resumes with this very value.
        st = this.store.rotateTekRand2(s.serviceId, rand2, startsAt).state;
      } finally {
        rand2.fill(0);
      }
      this.#log("info", "TEK_RAND2 rotated", { serviceId: s.serviceId, tgkId: tgk.tgkId, startsAt: st.currentStart });
    }
    const key = `${tgk.tgkId}/${st!.currentStart}`;
    if (this.#announced.get(s.serviceId) === key) return;
    if (!due && !announceCurrent && this.#announced.has(s.serviceId)) return;
    this.#announced.set(s.serviceId, key);
    this.#emit(s, tgk, st!, !due);
  }

  #emit(s: ServiceState, tgk: TgkRecord, st: TekRand2State, resumed: boolean): void {
    const ev = this.#deriveTek(s, tgk, st);
    try {
      for (const l of this.#listeners) {
        try {
          l({ ...ev, resumed });
        } catch (e) {
          // A sender that could not take the new TEK would go on under the old one: loud, and counted.
          this.#listenerFailures++;
          this.#log("error", "TEK listener threw", { serviceId: s.serviceId, code: (e as { code?: string }).code ?? "unknown" });
        }
      }
    } finally {
      ev.masterKey.fill(0);
      ev.masterSalt.fill(0);
      tgk.tgk.fill(0);
    }
  }

  #deriveTek(s: ServiceState, tgk: TgkRecord, st: TekRand2State): Omit<TekEvent, "resumed"> {
    const svc = this.#serviceRecord(s.serviceId);
    const mki = buildMki(tgk.tgkId, st.current, this.layout);
    const { masterKey, masterSalt } = deriveSrtpMasterKeys(
      { tgk: tgk.tgk, tgkId: tgk.tgkId, csbId: svc.csbId, csId: svc.csId, tekRand: svc.tekRand, mki },
      { layout: this.layout, derivation: this.derivation, tekLength: s.tekLength, core: this.#core },
    );
    svc.tekRand.fill(0);
    return {
      serviceId: s.serviceId, mki, masterKey, masterSalt, tgkId: tgk.tgkId, profile: s.profile,
      tgkValidFrom: tgk.validFrom, tgkExpiresAt: tgk.expiresAt, startsAt: st.currentStart,
    };
  }

  #serviceRecord(serviceId: string): ServiceRecord {
    const rec = this.store.getService(serviceId);
    if (!rec) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not found`);
    return rec;
  }

  /** The TEK in force for a service (fresh arrays, owned by the caller), without rotating anything. */
  currentTek(serviceId: string): Omit<TekEvent, "resumed"> {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not managed`);
    const now = this.clock.now();
    const live = this.#liveTgks(serviceId, now);
    const tgk = live.find((t) => t.validFrom <= now);
    wipe(live.filter((t) => t !== tgk));
    const st = this.store.getTekRand2(serviceId);
    if (!tgk || !st) throw new MbmsError("ERR_NOT_FOUND", "no TEK in force (start() or tick() first)");
    try {
      return this.#deriveTek(s, tgk, st);
    } finally {
      tgk.tgk.fill(0);
    }
  }

  // ---- key messages ----

  /**
   * The key message for one user: the current TGK and every future TGK already generated, and the
   * user's retrieval window for the next request. The caller has authenticated the user.
   * ERR_NOT_FOUND for an unknown service or user, ERR_FORBIDDEN if the user is not subscribed to the service.
   */
  keyResponse(userId: string, serviceId: string): KeyResponse {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", "service not managed");
    if (!this.store.isSubscribed(userId, serviceId)) throw new MbmsError("ERR_FORBIDDEN", "the user is not subscribed to the service");
    const user = this.store.getUser(userId);
    if (!user || user.disabled) throw new MbmsError("ERR_NOT_FOUND", "user not found");
    const now = this.clock.now();
    const tgks = this.#ensureTgks(s, now);
    const svc = this.#serviceRecord(serviceId);
    const grants: TgkGrant[] = tgks.map((t) => ({ tgkId: t.tgkId, tgk: t.tgk, validFrom: t.validFrom, expiresAt: t.expiresAt }));
    try {
      const body = buildMbmsKeyMessage({
        kek: user.kek, bmscId: this.bmscId, userId, serviceId, csbId: svc.csbId, tekRand: svc.tekRand,
        profile: s.profile, derivation: this.derivation, layout: this.layout, tgks: grants, nowMs: now,
      }, this.#core);
      const last = tgks[tgks.length - 1]!;
      const { from, window } = this.retrievalWindow(userId, serviceId, last.expiresAt, last.tgkId, now);
      return { body, rekeyFrom: from, rekeyWindow: window, tgkIds: tgks.map((t) => t.tgkId) };
    } finally {
      user.kek.fill(0);
      svc.tekRand.fill(0);
      for (const t of tgks) t.tgk.fill(0);
    }
  }

  /**
   * The retrieval window of `userId` for the TGK after the one expiring at `lastExpiry`: one of
   * `rekeySlots` slots of [lastExpiry − lead, lastExpiry − lead/2).
   */
  retrievalWindow(userId: string, serviceId: string, lastExpiry: number, lastTgkId: number, now = this.clock.now()): { from: number; window: number } {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", "service not managed");
    const base = lastExpiry - s.nextTgkLeadMs;
    const total = Math.max(1, Math.floor(s.nextTgkLeadMs / 2));
    const slots = Math.min(this.#slots, total);
    const slot = this.#spread === "hash"
      ? fnv1a(`${userId}\u0000${serviceId}\u0000${lastTgkId}`) % slots
      : randomBelow(slots);
    const slotLen = Math.floor(total / slots);
    let from = base + slot * slotLen;
    let window = slot === slots - 1 ? total - slot * slotLen : slotLen;
    if (from < now) {
      // Late (the BM-SC was behind its schedule): come back soon, spread over what is left before expiry.
      from = now;
      window = Math.max(1, Math.min(window, lastExpiry - now));
    }
    return { from, window };
  }
}
