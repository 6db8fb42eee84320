/** Why the replay cache refuses a message: seen before, or the cache is full (an overload). */
export type ReplayRefusal = "replay" | "full";

/**
 * The MIKEY replay cache (RFC 3830 §5.3, §5.4): authenticated messages are remembered for as long as
 * their timestamp lies inside the allowed clock skew; a message seen again inside that window is a
 * replay. Only authenticated messages are added, and expired ones are forgotten, so the cache fills
 * only with messages of the current window. When it is full (an overload), it refuses every message
 * until one skew interval has passed since it filled, as §5.4 prescribes, rather than forgetting entries
 * an attacker could then replay.
 */
export class ReplayCache {
  /** id → instant (ms) until which it is remembered. */
  private readonly seen = new Map<string, number>();
  private refuseUntil = -Infinity;

  constructor(
    /** Allowed clock skew, milliseconds (the window a message is remembered for by default). */
    readonly skewMs: number,
    /** Entries kept at most. */
    readonly capacity = 100_000,
  ) {}

  /**
   * Why a message identified by `id` (e.g. the hex of its MAC) would be refused now, or undefined when
   * it may be processed. Finding the cache full starts the refusal period.
   */
  refusal(id: string, nowMs: number): ReplayRefusal | undefined {
    this.purge(nowMs, false);
    if (this.has(id, nowMs)) return "replay";
    if (nowMs < this.refuseUntil) return "full";
    if (this.seen.size >= this.capacity) this.purge(nowMs, true);
    if (this.seen.size < this.capacity) return undefined;
    this.refuseUntil = nowMs + this.skewMs;
    return "full";
  }

  /** Remembers an authenticated message until `untilMs`; the caller found no `refusal` for it. */
  remember(id: string, untilMs: number): void {
    this.seen.delete(id); // re-inserted at the end, where the latest entries are
    this.seen.set(id, untilMs);
  }

  /**
   * True when `id` is new and may be processed; it is then remembered for `skewMs`. False for a replay
   * or while the cache is full.
   */
  admit(id: string, nowMs: number): boolean {
    if (this.refusal(id, nowMs) !== undefined) return false;
    this.remember(id, nowMs + this.skewMs);
    return true;
  }

  /** True when `id` would be refused as a replay now (does not add it). */
  has(id: string, nowMs: number): boolean {
    const expiry = this.seen.get(id);
    return expiry !== undefined && expiry > nowMs;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Forgets expired entries: those at the front (entries mostly arrive in expiry order), or with `all`
   * every one (a message's expiry follows its own timestamp, and clocks step).
   */
  private purge(nowMs: number, all: boolean): void {
    for (const [id, expiry] of this.seen) {
      if (expiry <= nowMs) this.seen.delete(id);
      else if (!all) break;
    }
  }
}
