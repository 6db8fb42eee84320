/**
 * A token bucket: `burst` tokens at most, refilled at `ratePerSec`. Times are the caller's (ms, any
 * monotonic origin). Pure and browser-safe: the key server's per-user limits and the UE's derivation
 * limit (MkiEvaluator) are built on it.
 */
import { MbmsError } from "./errors.js";

/** ERR_ARGUMENT unless `ratePerSec` is a positive number and `burst` a positive integer. */
export function checkBucket(ratePerSec: number, burst: number): void {
  if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new MbmsError("ERR_ARGUMENT", "ratePerSec must be a positive number");
  if (!Number.isSafeInteger(burst) || burst < 1) throw new MbmsError("ERR_ARGUMENT", "burst must be a positive integer");
}

export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  #perMs: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSec: number, burst: number, now: number) {
    checkBucket(ratePerSec, burst);
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.#perMs = ratePerSec / 1000;
    this.#tokens = burst;
    this.#at = now;
  }

  /** When a token was last taken. */
  get lastAt(): number {
    return this.#at;
  }

  /** How long until a token is there at `now` (0: one is). Takes nothing. */
  waitMs(now: number): number {
    const tokens = this.#level(now);
    return tokens >= 1 ? 0 : (1 - tokens) / this.#perMs;
  }

  /** Takes a token if one is there at `now`. */
  tryTake(now: number): boolean {
    const tokens = this.#level(now);
    if (tokens < 1) return false;
    this.#set(tokens - 1, now);
    return true;
  }

  /** Takes a token whether or not one is there (the level does not go below 0). */
  take(now: number): void {
    this.#set(Math.max(0, this.#level(now) - 1), now);
  }

  /** The level at `now`: refilled since the last take (a clock that steps back adds nothing). */
  #level(now: number): number {
    return now > this.#at ? Math.min(this.burst, this.#tokens + (now - this.#at) * this.#perMs) : this.#tokens;
  }

  #set(tokens: number, now: number): void {
    this.#tokens = tokens;
    this.#at = Math.max(this.#at, now);
  }
}
