/**
 * When a packet names a TGK-ID the UE does not hold, should it ask the BM-SC for keys? A forged MKI must
 * not make every UE on the channel re-key (the implosion the BM-SC's retrieval windows exist to prevent),
 * so the answer is yes only on evidence the UE can trust: the TGK-ID is the plausible next one (within
 * `unknownTgkAhead` after the highest held, or none is held), the MKI came at least `unknownTgkMinPackets`
 * times since the last authentic packet, and either every TGK held has expired (the schedule says a new
 * one is due) or no packet has authenticated for `unknownTgkSilenceMs` (the stream moved on). Calls are at
 * least `unknownTgkIntervalMs` apart, and per TGK-ID the interval doubles while re-keys do not bring that
 * TGK (up to 64×).
 *
 * It also caches what the source holds (TGK-IDs, the highest, the latest expiry): re-read when the TGKs
 * may have changed, never per packet, so that a flood reads the cache.
 */
import type { WallClock } from "../../clock.js";
import type { EvaluatorSettings, MkiEvaluatorStats } from "./evaluator-options.js";
import type { TekSource } from "./tek-source.js";

/** Per TGK-ID the interval doubles up to this factor; at most this many TGK-IDs are tracked. */
const BACKOFF_MAX = 64;
const TRACKED = 64;

export interface UnknownTgkGateOptions {
  source: Pick<TekSource, "knownTgkIds" | "tgkExpiries">;
  settings: EvaluatorSettings;
  clock: WallClock;
  stats: MkiEvaluatorStats;
  /** The re-key hook (KeyClient.rekeyNow); its failures are its own business. */
  onUnknownTgk: ((tgkId: number) => void) | undefined;
  /** Called before the source's TGKs are re-read (the evaluator adopts the service's parameters then). */
  beforeRefresh: () => void;
}

export class UnknownTgkGate {
  readonly #o: UnknownTgkGateOptions;
  #known = new Set<number>();
  #highest = -1;
  #latestExpiry = -Infinity;
  #stale = true;
  #notifiedAt = -Infinity;
  /** TGK-ID → when the hook may next be called for it, and its current interval. */
  readonly #backoff = new Map<number, { nextAt: number; intervalMs: number }>();

  constructor(options: UnknownTgkGateOptions) {
    this.#o = options;
  }

  /** The source's TGKs may have changed: re-read them when next needed. */
  invalidate(): void {
    this.#stale = true;
  }

  /** The TGKs changed: TGK-IDs now held lose their backoff. */
  tgksChanged(): void {
    this.#stale = true;
    for (const id of this.#backoff.keys()) if (this.knows(id)) this.#backoff.delete(id);
  }

  knows(tgkId: number): boolean {
    this.#refresh();
    return this.#known.has(tgkId);
  }

  /**
   * A packet under an MKI naming the unknown `tgkId`, seen `seenSinceAuth` times since the last authentic
   * packet (at `lastAuthAt`), in a TGK-ID space of `idSpace`: calls the hook if the evidence warrants it.
   */
  consider(tgkId: number, seenSinceAuth: number, lastAuthAt: number, idSpace: number, now: number): void {
    const { settings, onUnknownTgk } = this.#o;
    if (onUnknownTgk === undefined || seenSinceAuth < settings.unknownTgkMinPackets || now - this.#notifiedAt < settings.unknownTgkIntervalMs) return;
    const backoff = this.#backoff.get(tgkId);
    if (backoff !== undefined && now < backoff.nextAt) return;
    if (!this.#warranted(tgkId, lastAuthAt, idSpace, now)) return;
    this.#notifiedAt = now;
    this.#o.stats.unknownTgkNotified++;
    // Until that TGK arrives, each further call for it waits twice as long as the last.
    const intervalMs = Math.min(settings.unknownTgkIntervalMs * BACKOFF_MAX, backoff ? backoff.intervalMs * 2 : settings.unknownTgkIntervalMs);
    this.#backoff.delete(tgkId);
    this.#backoff.set(tgkId, { nextAt: now + intervalMs, intervalMs });
    if (this.#backoff.size > TRACKED) this.#backoff.delete(this.#backoff.keys().next().value!);
    try {
      onUnknownTgk(tgkId);
    } catch {
      // the hook's failure is the hook's business
    }
  }

  #warranted(tgkId: number, lastAuthAt: number, idSpace: number, now: number): boolean {
    this.#refresh();
    if (this.#highest >= 0) {
      // TGK-IDs are allocated in sequence (modulo the ID space).
      const ahead = (tgkId - this.#highest + idSpace) % idSpace;
      if (ahead < 1 || ahead > this.#o.settings.unknownTgkAhead) return false;
    }
    return this.#latestExpiry <= this.#o.clock.now() || now - lastAuthAt >= this.#o.settings.unknownTgkSilenceMs;
  }

  #refresh(): void {
    if (!this.#stale) return;
    this.#o.beforeRefresh();
    const { source } = this.#o;
    this.#known = new Set(source.knownTgkIds());
    this.#highest = -1;
    this.#latestExpiry = -Infinity;
    for (const [id, expiresAt] of source.tgkExpiries()) {
      this.#highest = Math.max(this.#highest, id);
      this.#latestExpiry = Math.max(this.#latestExpiry, expiresAt);
    }
    this.#stale = false;
  }
}
