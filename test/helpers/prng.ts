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
