import { ReplayWindow } from "./replay-window.js";

/** 2^48: SRTP indices are 48 bits (ROC ‖ SEQ, RFC 3711 §3.3.1). */
export const MAX_SRTP_INDEX = 2 ** 48;
export const MAX_SRTCP_INDEX = 2 ** 31;

/**
 * Per-SSRC state of one direction: the highest authenticated index (ROC and s_l together) and the
 * replay window. It belongs to the SSRC, not to a master key, so switching MKI never resets it.
 */
export class StreamState {
  /** Highest index accepted (= ROC·2^16 + s_l for SRTP), -1 before the first packet. */
  get highest(): number {
    return this.window.top;
  }
  /** The ROC to assume for the first packet (set by setRoc for late joiners). */
  private rocForFirst = 0;
  readonly window: ReplayWindow;

  constructor(windowSize: number) {
    this.window = new ReplayWindow(windowSize);
  }

  /** RFC 3711 Appendix A: the 48-bit index of an SRTP packet with sequence number `seq`. */
  estimateIndex(seq: number): number {
    const top = this.window.top;
    if (top < 0) return this.rocForFirst * 65536 + seq;
    const roc = Math.floor(top / 65536);
    const sl = top % 65536;
    let v = roc;
    if (sl < 32768) {
      // A late packet from before a wrap; there is no ROC -1 (pion/srtp's ROC==0 guard).
      if (seq - sl > 32768 && roc > 0) v = roc - 1;
    } else if (sl - 32768 > seq) {
      v = roc + 1;
    }
    return v * 65536 + seq;
  }

  /** The current ROC (of the highest index), or the one set for the first packet. */
  get roc(): number {
    return this.window.top < 0 ? this.rocForFirst : Math.floor(this.window.top / 65536);
  }

  /** Late join: the next packet's index is estimated from `roc` (RFC 3711 §3.3.1; MIKEY CS map ROC). */
  setRoc(roc: number): void {
    this.window.reset();
    this.rocForFirst = roc;
  }

  /** Sets the highest index as if the packet with `index` had been received (resume, tests). */
  setIndex(index: number): void {
    this.window.reset();
    this.window.commit(index);
  }
}
