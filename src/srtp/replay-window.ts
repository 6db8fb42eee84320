/**
 * A sliding replay window over packet indices (RFC 3711 §3.3.2, a bitmap as in RFC 2401), split in two
 * phases: `check` before the tag is verified, `commit` only after (pion's CheckAccepter design), so a
 * forged packet never moves the window.
 *
 * Indices are up to 48 bits (exact in a JS number). Bit k of the map is set when index `top - k` has
 * been received.
 */
export class ReplayWindow {
  /** Highest index received, or -1 before the first packet. */
  top = -1;
  private readonly bits: Uint32Array;

  constructor(readonly size: number) {
    this.bits = new Uint32Array(Math.ceil(size / 32));
  }

  /** 0 when `index` may be accepted, 1 when already received, 2 when behind the window. */
  check(index: number): 0 | 1 | 2 {
    if (index > this.top) return 0;
    const delta = this.top - index;
    if (delta >= this.size) return 2;
    return (this.bits[delta >>> 5]! >>> (delta & 31)) & 1 ? 1 : 0;
  }

  /** Marks `index` received; call only after `check(index) === 0` and the packet authenticated. */
  commit(index: number): void {
    if (index > this.top) {
      this.shift(this.top < 0 ? this.size : index - this.top);
      this.top = index;
      this.bits[0]! |= 1;
    } else {
      const delta = this.top - index;
      this.bits[delta >>> 5]! |= 1 << (delta & 31);
    }
  }

  reset(): void {
    this.top = -1;
    this.bits.fill(0);
  }

  /** Moves every bit `by` positions further from the top (bits beyond the window fall off). */
  private shift(by: number): void {
    const bits = this.bits;
    if (by >= this.size) {
      bits.fill(0);
      return;
    }
    const words = by >>> 5;
    const rest = by & 31;
    for (let i = bits.length - 1; i >= 0; i--) {
      const from = i - words;
      const hi = from >= 0 ? bits[from]! : 0;
      const lo = from - 1 >= 0 ? bits[from - 1]! : 0;
      bits[i] = rest === 0 ? hi : (hi << rest) | (lo >>> (32 - rest));
    }
  }
}
