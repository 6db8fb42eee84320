/**
 * The one owner of a direction's per-SSRC index and replay state when the crypto runs elsewhere (a pool
 * of workers with IndexedBatchCrypto): it decides each packet's 48-bit index in packet order, on one
 * thread, so that no worker has to guess a ROC from the share of the stream it sees.
 *
 * Send: `assign` estimates the index from the sequence number (RFC 3711 §3.3.1, Appendix A) and commits
 * it at once, refusing a repeated index unless retransmissions are allowed (a keystream used twice).
 * Receive: `place` gives the index to verify under (from the state the packets committed so far) and the
 * replay check before authentication (§3.3.2); `commit`, called in packet order after the tag verified,
 * checks again and updates the window, so a replay verified in parallel with its original (in another
 * worker, or later in the same batch) is refused here. A new SSRC gets state only at its first commit, and
 * only while fewer than `maxStreams` received SSRCs are kept (ERR_STREAM_LIMIT, as SrtpContext).
 */
import { SrtpStatus } from "./errors.js";
import { readSsrc, rtpHeaderLength, rtpSequence } from "./rtp-header.js";
import { MAX_SRTP_INDEX, StreamState } from "./stream-state.js";

export class SrtpIndexAuthority {
  private readonly streams = new Map<number, StreamState>();
  /** A pristine state to estimate the index of an SSRC not yet seen. */
  private readonly fresh: StreamState;

  constructor(private readonly replayWindow: number, private readonly allowRepeat = false, private readonly maxStreams = Infinity) {
    this.fresh = new StreamState(replayWindow);
  }

  /** The send index of the packet `buf[at..at+len)`, committed; or a negated SrtpStatus, nothing changed. */
  assign(buf: Uint8Array, at: number, len: number): number {
    const header = rtpHeaderLength(buf, at, len);
    if (header < 0) return header;
    const stream = this.stream(readSsrc(buf, at + 8));
    const index = stream.estimateIndex(rtpSequence(buf, at));
    if (index >= MAX_SRTP_INDEX) return -SrtpStatus.KeyLimit;
    const seen = stream.window.check(index);
    if (seen !== 0 && !this.allowRepeat) return seen === 1 ? -SrtpStatus.Replayed : -SrtpStatus.TooOld;
    if (seen === 0) stream.window.commit(index);
    return index;
  }

  /**
   * The receive index to verify the packet under, or a negated SrtpStatus (malformed, replayed, too old).
   * `nextRoc[slot]` gets the same packet's index one ROC later, to verify under if the tag fails under the
   * first — when that came from a signalled ROC the stream has not reached (StreamState.nextRocIndex) — else -1.
   */
  place(buf: Uint8Array, at: number, len: number, nextRoc: Float64Array, slot: number): number {
    nextRoc[slot] = -1;
    const header = rtpHeaderLength(buf, at, len);
    if (header < 0) return header;
    const stream = this.streams.get(readSsrc(buf, at + 8));
    if (stream === undefined && this.streams.size >= this.maxStreams) return -SrtpStatus.StreamLimit;
    const index = (stream ?? this.fresh).estimateIndex(rtpSequence(buf, at));
    if (index >= MAX_SRTP_INDEX) return -SrtpStatus.KeyLimit;
    const seen = stream ? stream.window.check(index) : 0;
    if (seen !== 0) return seen === 1 ? -SrtpStatus.Replayed : -SrtpStatus.TooOld;
    if (stream !== undefined) nextRoc[slot] = stream.nextRocIndex(index);
    return index;
  }

  /** After the tag verified under `index`: the replay check again, then the update. 0 or a negated status. */
  commit(ssrc: number, index: number): number {
    if (!this.streams.has(ssrc) && this.streams.size >= this.maxStreams) return -SrtpStatus.StreamLimit;
    const stream = this.stream(ssrc);
    const seen = stream.window.check(index);
    if (seen !== 0) return seen === 1 ? -SrtpStatus.Replayed : -SrtpStatus.TooOld;
    stream.window.commit(index);
    return 0;
  }

  /** The ROC of `ssrc` from key management (a late joiner; StreamState.setRoc). */
  setRoc(ssrc: number, roc: number): void {
    this.stream(ssrc >>> 0).setRoc(roc);
  }

  /** Each SSRC with its ROC (SrtpContext.sendStreams). */
  rocs(): { ssrc: number; roc: number }[] {
    return [...this.streams].map(([ssrc, stream]) => ({ ssrc, roc: stream.roc }));
  }

  private stream(ssrc: number): StreamState {
    let state = this.streams.get(ssrc);
    if (state === undefined) {
      state = new StreamState(this.replayWindow);
      this.streams.set(ssrc, state);
    }
    return state;
  }
}
