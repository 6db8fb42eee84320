/**
 * TEK_RAND2 rotation and TEK announcement, for the Session Manager (session-manager.ts): when a service's
 * TEK_RAND2 period ended, the TGK in force changed or a rotation is forced, fresh random bytes are
 * persisted with AsyncKeyStore.rotateTekRand2 (compare-and-set: of several BM-SC instances the first wins,
 * the others read the winner's value back), and only then is the TEK derived from them announced to the
 * listeners — each (TGK-ID, period start) once. `ensureTek` runs in the service's queue (service-queue.ts).
 *
 * A TGK change is prepared (`prepareNext`): up to `prepareMs` before the TGK in force expires, the first
 * TEK_RAND2 of the next TGK is persisted with its period starting at the expiry and its TEK announced, so
 * that the sender holds it when the change comes — with an asynchronous store a step run at the expiry
 * would finish only after the first packets due under the new TGK. Until then the stored current period
 * lies in the future and the one in force is the stored previous one. A forced rotation in that window
 * (rotateTekNow, a revocation) starts after the prepared period (the store only moves forward).
 */
import type { Logger } from "../../logger.js";
import type { CryptoCore } from "../../wasm/core.js";
import { MbmsError } from "../errors.js";
import { buildMki, deriveSrtpMasterKeys, type MkiLayout, type TekDerivation } from "../key-hierarchy.js";
import { storedService, type ServiceSettings } from "./service-config.js";
import type { AsyncKeyStore, TekRand2State, TgkRecord } from "./store/index.js";
import type { TekEvent } from "./tek-event.js";
import { liveTgks, wipeTgks } from "./tgk-chain.js";

export interface TekRotationContext {
  store: AsyncKeyStore;
  layout: MkiLayout;
  derivation: TekDerivation;
  core: CryptoCore;
  log: Logger;
}

const MAX_PREPARE_MS = 1000;

/** How long before a TGK change its first TEK is prepared: at most 1 s, half a period, half the lead. */
export const prepareMs = (s: ServiceSettings): number =>
  Math.min(MAX_PREPARE_MS, Math.floor(s.tekRand2PeriodMs / 2), Math.floor(s.nextTgkLeadMs / 2));

/**
 * When the next TGK's first period is due to be prepared (live `tgks`, soonest expiry first), or undefined:
 * no next TGK yet, already prepared, or a period boundary of the TGK in force comes first (its rotation
 * must be stored before the prepared one).
 */
export function prepareAt(s: ServiceSettings, tgks: readonly TgkRecord[], st: TekRand2State | undefined, now: number): number | undefined {
  const cur = tgks.find((t) => t.validFrom <= now);
  if (!cur || !st || !tgks.some((t) => t.validFrom === cur.expiresAt)) return undefined;
  if (st.currentStart >= cur.expiresAt || st.currentStart + s.tekRand2PeriodMs < cur.expiresAt) return undefined;
  return cur.expiresAt - prepareMs(s);
}

/** The state as of `now`: a prepared (future) period leaves the previous one in force. */
function inForce(st: TekRand2State, now: number): TekRand2State | undefined {
  if (st.currentStart <= now) return st;
  if (st.previous === null || st.previousStart === null || st.previousStart > now) return undefined;
  return { ...st, current: st.previous, currentStart: st.previousStart, previous: null, previousStart: null };
}

export class TekRotation {
  readonly listeners = new Set<(e: TekEvent) => void>();
  /** TEK_RAND2 values this instance stored (of several instances, the schedule's owner is the one that does). */
  rotations = 0;
  readonly #c: TekRotationContext;
  /** Last announced (TGK-ID, TEK_RAND2 period start) per service, to announce each TEK once. */
  #announced = new Map<string, string>();
  #listenerFailures = 0;

  constructor(context: TekRotationContext) {
    this.#c = context;
  }

  /** TEK events a listener threw on (each also logged at level "error"). */
  get listenerFailures(): number {
    return this.#listenerFailures;
  }

  /** Rotates TEK_RAND2 when its period ended, the TGK changed or `force`, and announces a new TEK. */
  async ensureTek(s: ServiceSettings, now: number, announceCurrent: boolean, force = false): Promise<void> {
    const tgk = await this.#tgkInForce(s.serviceId, now);
    if (!tgk) throw new MbmsError("ERR_NOT_FOUND", "no TGK in force");
    try {
      await this.#rotateAndAnnounce(s, tgk, now, announceCurrent, force);
    } finally {
      tgk.tgk.fill(0);
    }
  }

  /**
   * Prepares the next TGK's first period when due (prepareAt): persisted, then announced. After a restart
   * inside the window, announces the one already prepared (never used: it has not started).
   */
  async prepareNext(s: ServiceSettings, now: number): Promise<void> {
    const live = await liveTgks(this.#c.store, s.serviceId, now);
    try {
      const cur = live.find((t) => t.validFrom <= now);
      const next = cur && live.find((t) => t.validFrom === cur.expiresAt);
      if (!next || this.#announced.get(s.serviceId) === `${next.tgkId}/${next.validFrom}`) return;
      let st = await this.#c.store.getTekRand2(s.serviceId);
      if (st?.currentStart !== next.validFrom) {
        const at = prepareAt(s, live, st, now);
        if (at === undefined || now < at) return;
        st = await this.#persist(s, next, next.validFrom);
        if (st.currentStart !== next.validFrom) return; // another instance stored a later period
      }
      this.#announced.set(s.serviceId, `${next.tgkId}/${next.validFrom}`);
      await this.#emit(s, next, st, false);
    } finally {
      wipeTgks(live);
    }
  }

  /**
   * The step of an instance that does not own the schedule (schedule-lease.ts): announces the TEK in force
   * and a prepared later one as the store holds them, each once and in order, writing nothing — so the
   * sender of every instance switches with the owner's rotations.
   */
  async follow(s: ServiceSettings, now: number, announceCurrent: boolean): Promise<void> {
    const [live, st] = [await liveTgks(this.#c.store, s.serviceId, now), await this.#c.store.getTekRand2(s.serviceId)];
    try {
      for (const state of st ? [inForce(st, now), st.currentStart > now ? st : undefined] : []) {
        const tgk = state && live.find((t) => t.validFrom <= state.currentStart && state.currentStart < t.expiresAt);
        const last = this.#announced.get(s.serviceId);
        if (!tgk || (last !== undefined && Number(last.split("/")[1]) >= state.currentStart)) continue;
        this.#announced.set(s.serviceId, `${tgk.tgkId}/${state.currentStart}`);
        await this.#emit(s, { ...tgk, tgk: tgk.tgk.slice() }, state, announceCurrent && last === undefined && state.currentStart <= now);
      }
    } finally {
      wipeTgks(live);
    }
  }

  /** The TEK in force for a service (fresh arrays, owned by the caller), without rotating anything. */
  async current(s: ServiceSettings, now: number): Promise<Omit<TekEvent, "resumed">> {
    const tgk = await this.#tgkInForce(s.serviceId, now);
    try {
      const stored = await this.#c.store.getTekRand2(s.serviceId);
      const st = stored && inForce(stored, now);
      if (!tgk || !st) throw new MbmsError("ERR_NOT_FOUND", "no TEK in force (start() or tick() first)");
      return await this.#deriveTek(s, tgk, st);
    } finally {
      tgk?.tgk.fill(0);
    }
  }

  async #tgkInForce(serviceId: string, now: number): Promise<TgkRecord | undefined> {
    const live = await liveTgks(this.#c.store, serviceId, now);
    const tgk = live.find((t) => t.validFrom <= now);
    wipeTgks(live.filter((t) => t !== tgk));
    return tgk;
  }

  async #rotateAndAnnounce(s: ServiceSettings, tgk: TgkRecord, now: number, announceCurrent: boolean, force: boolean): Promise<void> {
    let st = await this.#c.store.getTekRand2(s.serviceId);
    if (st && st.currentStart > now && !force) {
      // A TGK change is prepared: nothing is due before it. At start, announce the TEK in force.
      const current = inForce(st, now);
      if (!announceCurrent || this.#announced.has(s.serviceId) || !current) return;
      this.#announced.set(s.serviceId, `${tgk.tgkId}/${current.currentStart}`);
      return this.#emit(s, tgk, current, true);
    }
    const due = force || !st || now >= st.currentStart + s.tekRand2PeriodMs || st.currentStart < tgk.validFrom;
    if (due) {
      const aligned = st ? st.currentStart + Math.floor((now - st.currentStart) / s.tekRand2PeriodMs) * s.tekRand2PeriodMs : now;
      // Forced: a new period from now on (after the current one's start: the store only moves forward).
      const startsAt = force ? Math.max(now, (st?.currentStart ?? -1) + 1) : Math.min(now, Math.max(aligned, tgk.validFrom));
      st = await this.#persist(s, tgk, startsAt);
    }
    const key = `${tgk.tgkId}/${st!.currentStart}`;
    if (this.#announced.get(s.serviceId) === key) return;
    if (!due && !announceCurrent && this.#announced.has(s.serviceId)) return;
    this.#announced.set(s.serviceId, key);
    await this.#emit(s, tgk, st!, !due);
  }

  /** A fresh TEK_RAND2 from `startsAt`, persisted before use: a crash after this resumes with this very value. */
  async #persist(s: ServiceSettings, tgk: TgkRecord, startsAt: number): Promise<TekRand2State> {
    const rand2 = globalThis.crypto.getRandomValues(new Uint8Array(this.#c.layout.randBytes));
    try {
      const { state, applied } = await this.#c.store.rotateTekRand2(s.serviceId, rand2, startsAt);
      if (applied) this.rotations++;
      this.#c.log("info", "TEK_RAND2 rotated", { serviceId: s.serviceId, tgkId: tgk.tgkId, startsAt: state.currentStart });
      return state;
    } finally {
      rand2.fill(0);
    }
  }

  async #emit(s: ServiceSettings, tgk: TgkRecord, st: TekRand2State, resumed: boolean): Promise<void> {
    const ev = await this.#deriveTek(s, tgk, st);
    try {
      for (const l of this.listeners) {
        try {
          l({ ...ev, resumed });
        } catch (e) {
          // A sender that could not take the new TEK would go on under the old one: loud, and counted.
          this.#listenerFailures++;
          this.#c.log("error", "TEK listener threw", { serviceId: s.serviceId, code: (e as { code?: string }).code ?? "unknown" });
        }
      }
    } finally {
      ev.masterKey.fill(0);
      ev.masterSalt.fill(0);
      tgk.tgk.fill(0);
    }
  }

  async #deriveTek(s: ServiceSettings, tgk: TgkRecord, st: TekRand2State): Promise<Omit<TekEvent, "resumed">> {
    const { store, layout, derivation, core } = this.#c;
    const svc = await storedService(store, s.serviceId);
    const mki = buildMki(tgk.tgkId, st.current, layout);
    try {
      const { masterKey, masterSalt } = deriveSrtpMasterKeys(
        { tgk: tgk.tgk, tgkId: tgk.tgkId, csbId: svc.csbId, csId: svc.csId, tekRand: svc.tekRand, mki },
        { layout, derivation, tekLength: s.tekLength, core },
      );
      return {
        serviceId: s.serviceId, mki, masterKey, masterSalt, tgkId: tgk.tgkId, profile: s.profile,
        tgkValidFrom: tgk.validFrom, tgkExpiresAt: tgk.expiresAt, startsAt: st.currentStart,
      };
    } finally {
      svc.tekRand.fill(0);
    }
  }
}
