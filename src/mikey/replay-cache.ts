/**
 * The MIKEY replay cache (RFC 3830 §5.3, §5.4): authenticated messages are remembered for as long as
 * their timestamp lies inside the allowed clock skew; a message seen again inside that window is a
 * replay. Only authenticated messages are added. When the cache is full (an overload), it refuses
 * every message until one skew interval has passed since it filled, as §5.4 prescribes, rather than
 * forgetting entries an attacker could then replay.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private refuseUntil = 0;

  constructor(
    /** Allowed clock skew, milliseconds (the window a message is remembered for). */
    readonly skewMs: number,
    /** Entries kept at most. */
    readonly capacity = 100_000,
  ) {}

  /**
   * True when a message identified by `id` (e.g. the hex of its MAC) is new and may be processed; it is
   * then remembered until `nowMs + skewMs`. False for a replay or while the cache refuses after overflow.
   */
  admit(id: string, nowMs: number): boolean {
    if (nowMs < this.refuseUntil) return false;
    this.purge(nowMs);
    if (this.seen.has(id)) return false;
    if (this.seen.size >= this.capacity) {
      this.refuseUntil = nowMs + this.skewMs;
      return false;
    }
    this.seen.set(id, nowMs + this.skewMs);
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

  private purge(nowMs: number): void {
    // Entries are inserted in time order with the same skew, so expired ones are at the front.
    for (const [id, expiry] of this.seen) {
      if (expiry > nowMs) break;
      this.seen.delete(id);
    }
  }
}
