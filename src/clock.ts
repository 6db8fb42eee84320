/**
 * Time for every role: wall-clock milliseconds and one-shot timers. The BM-SC's schedule, the key client's
 * re-keys, the TEK sources' TGK lifetimes and the card proxy's APDU timeouts all take one, so that a test
 * runs hours of key periods on a manual clock (test/helpers/manual-clock.ts). Browser-safe.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs`; returns a handle for clearTimer. */
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

/** What a role that only reads the time needs (TGK lifetimes). */
export type WallClock = Pick<Clock, "now">;

/** The longest delay a JavaScript timer takes (longer ones fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Date.now() and the platform's setTimeout, delays clamped to 0..MAX_TIMER_MS. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, delayMs) => globalThis.setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_MS)),
  clearTimer: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Lets a Node timer not keep the process alive; other handles (browsers, manual clocks) are left alone. */
export function unrefTimer(handle: unknown): void {
  (handle as { unref?: () => void } | null | undefined)?.unref?.();
}
