/**
 * How many frames the stream carried since the first key frame, from RTP timestamps alone (RFC 3550
 * §5.1: one timestamp per frame): (last − first) / frame step + 1, the step being the smallest positive
 * difference seen between consecutive frames. A frame lost whole still counts, which a count of the
 * access units that arrived would miss.
 */
export class FrameSpan {
  #first: number | undefined;
  #last = 0;
  #step = Infinity;

  see(timestamp: number, key: boolean): void {
    if (this.#first === undefined) {
      if (!key) return;
      this.#first = this.#last = timestamp;
      return;
    }
    const delta = timestamp - this.#last;
    if (delta > 0) {
      this.#step = Math.min(this.#step, delta);
      this.#last = timestamp;
    }
  }

  get frames(): number {
    if (this.#first === undefined) return 0;
    return Number.isFinite(this.#step) ? Math.round((this.#last - this.#first) / this.#step) + 1 : 1;
  }
}
