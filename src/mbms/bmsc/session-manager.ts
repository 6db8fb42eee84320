/**
 * The BM-SC Session Manager (docs/architecture.md): per MBMS service it generates the TGKs (with TGK-IDs and
 * TGK_LIFE), TEK_RAND once, and TEK_RAND2 on a schedule; it tells the SRTP sender about every new TEK
 * (MKI = TGK-ID ‖ TEK_RAND2) and builds the per-user MIKEY key messages the key server hands out.
 *
 * All state lives in the KeyStore, written before it is used: a new SessionManager on the same store (an
 * SQLite file after a restart) resumes with the same TGKs, TEK_RAND and TEK_RAND2, hence the same MKI and TEK.
 *
 * Schedule, per service: the TGK chain (tgk-chain.ts); TEK_RAND2 rotates every `tekRand2PeriodMs` (periods
 * aligned on the first one, so a restart keeps the grid) and whenever the TGK in force changes — fresh
 * random bytes each time, persisted with KeyStore.rotateTekRand2 (compare-and-set: of several BM-SC
 * instances the first wins, the others read the winner's value back) before any TEK derived from it is
 * announced. Each user's next key request falls in a retrieval window (retrieval-window.ts).
 */
import { systemClock, unrefTimer, type Clock } from "../../clock.js";
import { consoleLogger, type Logger } from "../../logger.js";
import type { CryptoCore } from "../../wasm/core.js";
import { defaultCore } from "../../wasm/default-core.js";
import { MAX_MKI_LENGTH } from "../../srtp/options.js";
import { MbmsError } from "../errors.js";
import { buildMbmsKeyMessage, type TgkGrant } from "../key-message.js";
import {
  buildMki, deriveSrtpMasterKeys, mkiLayout, mkiLength, type MkiLayout, type TekDerivation,
} from "../key-hierarchy.js";
import type { KeyStore, ServiceRecord, TekRand2State, TgkRecord } from "./store/index.js";
import { reconcileUsers, type ConfiguredUser, type ReconcileResult } from "./reconcile-users.js";
import {
  KEY_MESSAGE_CS_ID, checkStoredService, positiveInt, serviceSettings, tekScheme, type ServiceConfig, type ServiceSettings,
} from "./service-config.js";
import { retrievalWindow, type RekeySpread } from "./retrieval-window.js";
import { ensureTgks, liveTgks, wipeTgks, type TgkChain } from "./tgk-chain.js";
import { entitledServices, revocationMode, revokeServices, type RevocationMode } from "./revocation.js";
import type { TekEvent } from "./tek-event.js";
import type { SessionManagerOptions } from "./session-options.js";

export type { SessionManagerOptions } from "./session-options.js";

export interface KeyResponse {
  /** The MIKEY key message (application/mikey). */
  body: Uint8Array;
  /** The retrieval window for the next re-key request: [rekeyFrom, rekeyFrom + rekeyWindow). */
  rekeyFrom: number;
  rekeyWindow: number;
  /** TGK-IDs carried, current first. */
  tgkIds: number[];
}

const TEK_RAND_BYTES = 16;

const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

export class SessionManager {
  readonly store: KeyStore;
  readonly clock: Clock;
  readonly bmscId: string;
  readonly layout: MkiLayout;
  readonly derivation: TekDerivation;
  #core: CryptoCore;
  #log: Logger;
  #listeners = new Set<(e: TekEvent) => void>();
  #services = new Map<string, ServiceSettings>();
  /** Last announced (TGK-ID, TEK_RAND2 period start) per service, to announce each TEK once. */
  #announced = new Map<string, string>();
  #timer: unknown;
  #running = false;
  #spread: RekeySpread;
  #slots: number;
  #retryMs: number;
  #chain: TgkChain;
  #listenerFailures = 0;
  #revocation: RevocationMode;

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
    this.#revocation = revocationMode(options.revocation);
    this.#chain = { store: this.store, maxTgkId: 2 ** (8 * this.layout.tgkIdBytes) - 1, log: this.#log };
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
    const revoked = new Set<string>();
    const r = reconcileUsers(this.store, users, { allServices: this.serviceIds, now: this.clock.now(), core: this.#core, revoked });
    this.#log("info", "users reconciled", { ...r });
    this.#revoke([...revoked], "users reconciled");
    return r;
  }

  /** Removes a user (false, and nothing changes, if there is none); revokes its services (`revocation`). */
  removeUser(userId: string): boolean {
    const lost = entitledServices(this.store, userId);
    if (!this.store.removeUser(userId)) return false;
    this.#revoke(lost, "user removed");
    return true;
  }

  /** ERR_NOT_FOUND for an unknown user. Disabling an enabled user revokes its services (`revocation`). */
  setUserDisabled(userId: string, disabled: boolean): void {
    const lost = disabled ? entitledServices(this.store, userId) : [];
    this.store.setUserDisabled(userId, disabled);
    this.#revoke(lost, "user disabled");
  }

  /** Revocation "fresh-tgk" (revocation.ts): a fresh TGK and, if running, a TEK under it at once. */
  #revoke(serviceIds: readonly string[], reason: string): void {
    if (this.#revocation === "none" || serviceIds.length === 0) return;
    const rotate = this.#running ? (s: ServiceSettings, now: number) => this.#ensureTek(s, now, false, true) : undefined;
    try {
      revokeServices(this.#chain, serviceIds.flatMap((id) => this.#services.get(id) ?? []), this.clock.now(), reason, rotate);
    } finally {
      this.#reschedule();
    }
  }

  // ---- services ----

  /**
   * Adds a service (creating it in the store with a fresh TEK_RAND, or resuming the stored one) and
   * makes sure it has its TGKs. A stored service must match the configured CSB ID and profile.
   */
  addService(config: ServiceConfig): void {
    const settings = serviceSettings(config);
    if (this.#services.has(config.serviceId)) throw new MbmsError("ERR_DUPLICATE", `service ${JSON.stringify(config.serviceId)} already managed`);
    const { profile } = settings;
    const stored = this.store.getService(config.serviceId);
    if (stored) {
      checkStoredService(this.store, stored, config, settings, tekScheme(this.derivation, this.layout));
      this.#log("info", "service resumed", { serviceId: config.serviceId, profile });
    } else {
      const csbId = config.csbId ?? new DataView(random(4).buffer).getUint32(0);
      this.store.addService({
        serviceId: config.serviceId, csbId, csId: KEY_MESSAGE_CS_ID, srtpProfile: profile, tekRand: random(TEK_RAND_BYTES),
        tekScheme: tekScheme(this.derivation, this.layout),
      });
      this.#log("info", "service created", { serviceId: config.serviceId, profile });
    }
    this.#services.set(settings.serviceId, settings);
    ensureTgks(this.#chain, settings, this.clock.now());
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
        wipeTgks(ensureTgks(this.#chain, s, now));
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
        const tgks = wipeTgks(liveTgks(this.store, s.serviceId, now));
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
    unrefTimer(this.#timer); // a pending rotation never keeps the process alive
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
  #ensureTek(s: ServiceSettings, now: number, announceCurrent: boolean, force = false): void {
    const live = liveTgks(this.store, s.serviceId, now);
    const tgk = live.find((t) => t.validFrom <= now);
    wipeTgks(live.filter((t) => t !== tgk));
    if (!tgk) throw new MbmsError("ERR_NOT_FOUND", "no TGK in force");
    try {
      this.#rotateAndAnnounce(s, tgk, now, announceCurrent, force);
    } finally {
      tgk.tgk.fill(0);
    }
  }

  #rotateAndAnnounce(s: ServiceSettings, tgk: TgkRecord, now: number, announceCurrent: boolean, force: boolean): void {
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

  #emit(s: ServiceSettings, tgk: TgkRecord, st: TekRand2State, resumed: boolean): void {
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

  #deriveTek(s: ServiceSettings, tgk: TgkRecord, st: TekRand2State): Omit<TekEvent, "resumed"> {
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
    const live = liveTgks(this.store, serviceId, now);
    const tgk = live.find((t) => t.validFrom <= now);
    wipeTgks(live.filter((t) => t !== tgk));
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
   * user's retrieval window for the next request. The caller has authenticated the user. A re-key
   * (`update`: the user holds TGKs of the service, hence its TEK_RAND) carries no TEK_RAND (RFC 3830 §4.5).
   * ERR_NOT_FOUND for an unknown service or user, ERR_FORBIDDEN if the user is not subscribed to the service.
   */
  keyResponse(userId: string, serviceId: string, { update = false }: { update?: boolean } = {}): KeyResponse {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", "service not managed");
    if (!this.store.isSubscribed(userId, serviceId)) throw new MbmsError("ERR_FORBIDDEN", "the user is not subscribed to the service");
    const user = this.store.getUser(userId);
    if (!user || user.disabled) throw new MbmsError("ERR_NOT_FOUND", "user not found");
    const now = this.clock.now();
    const tgks = ensureTgks(this.#chain, s, now);
    const svc = this.#serviceRecord(serviceId);
    const grants: TgkGrant[] = tgks.map((t) => ({ tgkId: t.tgkId, tgk: t.tgk, validFrom: t.validFrom, expiresAt: t.expiresAt }));
    try {
      const body = buildMbmsKeyMessage({
        kek: user.kek, bmscId: this.bmscId, userId, serviceId, csbId: svc.csbId, tekRand: svc.tekRand,
        profile: s.profile, derivation: this.derivation, layout: this.layout, tgks: grants, nowMs: now, update,
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
    return retrievalWindow({ userId, serviceId, lastExpiry, lastTgkId, now, nextTgkLeadMs: s.nextTgkLeadMs, slots: this.#slots, spread: this.#spread });
  }
}
