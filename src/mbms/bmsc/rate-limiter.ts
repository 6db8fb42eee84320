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
import { MbmsError } from "../errors.js";

export interface RateLimitOptions {
  /** Sustained requests per second per user (default 2). */
  ratePerSec?: number;
  /** Requests a user may make at once (default 5). */
  burst?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class UserRateLimiter {
  readonly ratePerSec: number;
  readonly burst: number;
  #perMs: number;
  #fillMs: number;
  #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions = {}) {
    this.ratePerSec = options.ratePerSec ?? 2;
    this.burst = options.burst ?? 5;
    if (!(this.ratePerSec > 0) || !Number.isFinite(this.ratePerSec)) throw new MbmsError("ERR_ARGUMENT", "ratePerSec must be a positive number");
    if (!Number.isSafeInteger(this.burst) || this.burst < 1) throw new MbmsError("ERR_ARGUMENT", "burst must be a positive integer");
    this.#perMs = this.ratePerSec / 1000;
    this.#fillMs = this.burst / this.#perMs;
  }

  /** Buckets held (users active within the last burst / ratePerSec seconds). */
  get size(): number {
    return this.#buckets.size;
  }

  /** How long `userId` must wait before its next request is admitted: 0 if a token is there. Takes nothing. */
  waitMs(userId: string, now: number): number {
    const b = this.#buckets.get(userId);
    if (!b) return 0;
    const tokens = this.#tokens(b, now);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.#perMs);
  }

  /** Takes one token of `userId` (the caller checked waitMs first). */
  take(userId: string, now: number): void {
    const b = this.#buckets.get(userId) ?? { tokens: this.burst, at: now };
    b.tokens = Math.max(0, this.#tokens(b, now) - 1);
    b.at = now;
    this.#buckets.delete(userId); // re-inserted last: the Map stays in order of last use
    this.#buckets.set(userId, b);
    for (const [id, first] of this.#buckets) {
      if (now - first.at < this.#fillMs) break;
      this.#buckets.delete(id);
    }
  }

  #tokens(b: Bucket, now: number): number {
    return Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * this.#perMs);
  }
}
