/**
 * Per-user token buckets for the key server: each authenticated user may make `burst` requests at once
 * and `ratePerSec` per second on average. A UE asks for keys once per TGK lifetime (plus retries), so the
 * defaults are far above what a UE needs and far below what a flood costs (each accepted request is a
 * stored nonce, an fsync'd write with SQLite).
 *
 * Bounded state: a bucket left alone for burst / ratePerSec is full again, exactly as if it did not exist,
 * so such idle buckets are dropped. Buckets are kept in the order of their last use (a Map re-inserted on
 * every take), so the idle ones are at the front and each take evicts them in amortised O(1).
 * Pure JS; times come from the caller (the session manager's clock).
 */
import { TokenBucket, checkBucket } from "../token-bucket.js";

export interface RateLimitOptions {
  /** Sustained requests per second per user (default 2). */
  ratePerSec?: number;
  /** Requests a user may make at once (default 5). */
  burst?: number;
}

export class UserRateLimiter {
  readonly ratePerSec: number;
  readonly burst: number;
  #fillMs: number;
  #buckets = new Map<string, TokenBucket>();

  constructor(options: RateLimitOptions = {}) {
    this.ratePerSec = options.ratePerSec ?? 2;
    this.burst = options.burst ?? 5;
    checkBucket(this.ratePerSec, this.burst);
    this.#fillMs = (this.burst / this.ratePerSec) * 1000;
  }

  /** Buckets held (users active within the last burst / ratePerSec seconds). */
  get size(): number {
    return this.#buckets.size;
  }

  /** How long `userId` must wait before its next request is admitted: 0 if a token is there. Takes nothing. */
  waitMs(userId: string, now: number): number {
    return Math.ceil(this.#buckets.get(userId)?.waitMs(now) ?? 0);
  }

  /** Takes one token of `userId` (the caller checked waitMs first). */
  take(userId: string, now: number): void {
    const b = this.#buckets.get(userId) ?? new TokenBucket(this.ratePerSec, this.burst, now);
    b.take(now);
    this.#buckets.delete(userId); // re-inserted last: the Map stays in order of last use
    this.#buckets.set(userId, b);
    for (const [id, first] of this.#buckets) {
      if (now - first.lastAt < this.#fillMs) break;
      this.#buckets.delete(id);
    }
  }
}
