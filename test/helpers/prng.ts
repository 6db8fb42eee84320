/** A cheap deterministic PRNG (xorshift32) for fuzzers: they need volume and reproducibility, not secrecy. */
export function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** `items` reordered as a network might: each one moves less than `window` places; the first stays first. */
export function shuffleWithin<T>(items: T[], window: number, rnd: (n: number) => number): T[] {
  return items.map((item, i) => ({ item, key: i === 0 ? -1 : i + rnd(window) + i / items.length }))
    .sort((a, b) => a.key - b.key).map((x) => x.item);
}
