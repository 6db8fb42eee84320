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
  /**
   * The ROC key management signalled (setRoc): it gives the next packet's index while the stream has
   * not reached it (before the first packet, or after a ROC ahead of the stream), and is moot after.
   */
  private signalledRoc = 0;
  readonly window: ReplayWindow;

  constructor(windowSize: number) {
    this.window = new ReplayWindow(windowSize);
  }

  /** RFC 3711 Appendix A: the 48-bit index of an SRTP packet with sequence number `seq`. */
  estimateIndex(seq: number): number {
    const top = this.window.top;
    if (this.signalledRoc * 65536 > top) return this.signalledRoc * 65536 + seq;
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

  /** The current ROC (of the highest index), or the signalled one while the stream has not reached it. */
  get roc(): number {
    const top = this.window.top;
    return this.signalledRoc * 65536 > top ? this.signalledRoc : Math.floor(top / 65536);
  }

  /**
   * The ROC from key management (RFC 3711 §3.3.1: a receiver joining late learns it out of band; MIKEY's
   * CS map, RFC 3830 §6.1.1). The replay window is kept: forgetting it would accept replays. A ROC the
   * stream has already reached (a re-key message mid-stream, possibly sent before the last wrap) changes
   * nothing; one ahead of it (more than 2^15 packets missed) gives the next packet's index.
   */
  setRoc(roc: number): void {
    this.signalledRoc = roc;
  }

  /**
   * The index one ROC later than `index`, if `index` came from the signalled ROC (the stream has not reached
   * it); else -1. Key management reads the sender's ROC some time before the receiver's first packet: a wrap
   * in between leaves the signalled ROC one behind, so the tag is tried under the next one too (RFC 3711
   * §3.3.1 leaves the late joiner's guess to it), until the stream has an authenticated packet at or past it.
   * The next index lies past the window's top, so no replay check is needed; past 2^48 there is none.
   */
  nextRocIndex(index: number): number {
    const base = this.signalledRoc * 65536;
    const signalled = base > this.window.top && index >= base && index < base + 65536;
    return signalled && index + 65536 < MAX_SRTP_INDEX ? index + 65536 : -1;
  }

  /** Sets the highest index as if the packet with `index` had been received (resume, tests). */
  setIndex(index: number): void {
    this.window.reset();
    this.window.commit(index);
    this.signalledRoc = 0;
  }
}
