/**
 * The master keys a UE's receive context holds, and what it remembers of keys it let go. A derived key is
 * on probation until a packet under it authenticates; only then does it become the current key, the old
 * one becoming "previous" for `graceMs` (late packets). A probation key without an authentic packet after
 * `probationMs`, or evicted to keep `maxKeys`, is removed and its MKI negative-cached for `negativeTtlMs`
 * (a bounded LRU). The current and previous keys are never removed for unauthenticated reasons.
 */
import { SrtpContext } from "../../srtp/context.js";
import type { SrtpProfileName } from "../../srtp/profiles.js";
import type { CryptoCore } from "../../wasm/core.js";
import { EvaluatorStatus, type EvaluatorSettings, type MkiEvaluatorStats } from "./evaluator-options.js";
import type { TekResult } from "./tek-source.js";

type KeyState = "probation" | "current" | "previous";

export interface InstalledKey {
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

export interface KeyRingOptions {
  settings: EvaluatorSettings;
  core: CryptoCore;
  replayWindow: number | undefined;
  /** Where switches, forged keys and the current MKI are counted. */
  stats: MkiEvaluatorStats;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export class KeyRing {
  /** The receive context, made with the first key (the service's profile is known by then). */
  ctx: SrtpContext | undefined;
  current: InstalledKey | undefined;
  #previous: InstalledKey | undefined;
  readonly #installed = new Map<string, InstalledKey>();
  /** Recently retired or forged MKIs → until when they are dropped unseen. */
  readonly #recent = new Map<string, { status: EvaluatorStatus; until: number }>();
  readonly #pendingRoc = new Map<number, number>();
  readonly #o: KeyRingOptions;

  constructor(options: KeyRingOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#installed.size;
  }

  get(id: string): InstalledKey | undefined {
    return this.#installed.get(id);
  }

  has(key: InstalledKey): boolean {
    return this.#installed.get(key.id) === key;
  }

  /** The ROC of `ssrc` (late join); applied when the context exists. */
  setRoc(ssrc: number, roc: number): void {
    if (this.ctx) this.ctx.setRoc(ssrc, roc);
    else this.#pendingRoc.set(ssrc >>> 0, roc);
  }

  /** The verdict on a negative-cached MKI still in force at `now`, if any. */
  verdict(id: string, now: number): EvaluatorStatus | undefined {
    const v = this.#recent.get(id);
    if (v === undefined) return undefined;
    if (v.until > now) return v.status;
    this.#recent.delete(id);
    return undefined;
  }

  /** Installs a derived TEK on probation, making room first (the oldest probation key, else the previous one). */
  install(id: string, mki: Uint8Array, tek: TekResult, profile: SrtpProfileName, now: number): InstalledKey {
    const { settings, stats } = this.#o;
    if (this.#installed.size >= settings.maxKeys) {
      let victim: InstalledKey | undefined;
      for (const k of this.#installed.values()) {
        if (k.state === "probation" && (victim === undefined || k.installedAt < victim.installedAt)) victim = k;
      }
      if (victim !== undefined) {
        stats.forgedKeys++;
        this.#uninstall(victim, EvaluatorStatus.ForgedMki, now);
      } else if (this.#previous !== undefined) {
        this.#uninstall(this.#previous, EvaluatorStatus.RetiredMki, now);
      }
    }
    const init = { key: tek.masterKey, salt: tek.masterSalt, mki };
    if (this.ctx === undefined) {
      const replay = this.#o.replayWindow ? { replayWindow: this.#o.replayWindow } : {};
      this.ctx = new SrtpContext({ profile, keys: [init], ...replay }, this.#o.core);
      for (const [ssrc, roc] of this.#pendingRoc) this.ctx.setRoc(ssrc, roc);
      this.#pendingRoc.clear();
    } else {
      this.ctx.addKey(init);
    }
    const key: InstalledKey = { id, mki, state: "probation", installedAt: now, retireAt: Infinity, ok: 0, failed: 0, lastOkAt: -Infinity };
    this.#installed.set(id, key);
    return key;
  }

  /**
   * A packet under `key` authenticated at `now`: a probation key becomes the current one. Returns when the
   * previous key's grace ends, if it changed.
   */
  authenticated(key: InstalledKey, now: number): number | undefined {
    key.ok++;
    key.lastOkAt = now;
    if (key.state !== "probation") return undefined;
    const old = this.current;
    key.state = "current";
    this.current = key;
    this.#o.stats.currentMki = hex(key.mki);
    if (old === undefined) return undefined;
    if (this.#previous !== undefined) this.#uninstall(this.#previous, EvaluatorStatus.RetiredMki, now);
    old.state = "previous";
    old.retireAt = now + this.#o.settings.graceMs;
    this.#previous = old;
    this.#o.stats.switches++;
    return old.retireAt;
  }

  /** Grace expiry and probation timeouts at `now`; returns when next to look (≤ `next`). */
  housekeep(now: number, next: number): number {
    const { settings, stats } = this.#o;
    const prev = this.#previous, cur = this.current;
    if (prev !== undefined && cur !== undefined) {
      if (now >= prev.retireAt) {
        if (prev.lastOkAt > cur.lastOkAt) {
          // The sender went back to the previous key (or the current one was promoted by a straggler):
          // the key actually in use stays, the other gets the grace period.
          prev.state = "current";
          cur.state = "previous";
          cur.retireAt = now + settings.graceMs;
          this.current = prev;
          this.#previous = cur;
          stats.currentMki = hex(prev.mki);
          stats.switches++;
          next = Math.min(next, cur.retireAt);
        } else {
          this.#uninstall(prev, EvaluatorStatus.RetiredMki, now);
        }
      } else {
        next = Math.min(next, prev.retireAt);
      }
    }
    for (const k of [...this.#installed.values()]) {
      if (k.state !== "probation") continue;
      const end = k.installedAt + settings.probationMs;
      if (now >= end && k.ok === 0) {
        stats.forgedKeys++;
        this.#uninstall(k, EvaluatorStatus.ForgedMki, now);
      } else if (now < end) {
        next = Math.min(next, end);
      }
    }
    return next;
  }

  /** Zeroes every key (the context's close). */
  close(): void {
    this.ctx?.close();
    this.ctx = undefined;
    this.#installed.clear();
    this.current = this.#previous = undefined;
  }

  /** Removes an installed key (never the current one) and negative-caches its MKI from `now`. */
  #uninstall(key: InstalledKey, status: EvaluatorStatus, now: number): void {
    if (key === this.current) return;
    if (key === this.#previous) this.#previous = undefined;
    this.#installed.delete(key.id);
    this.ctx?.removeKey(key.mki);
    this.#recent.delete(key.id);
    this.#recent.set(key.id, { status, until: now + this.#o.settings.negativeTtlMs });
    if (this.#recent.size > this.#o.settings.recentLimit) this.#recent.delete(this.#recent.keys().next().value!);
  }
}
