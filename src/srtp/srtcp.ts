import type { CryptoCore } from "../wasm/core.js";
import { SrtpStatus } from "./errors.js";
import type { MasterKey } from "./master-key.js";
import type { ResolvedOptions } from "./options.js";
import { ROC_BYTES, type PacketArena } from "./packet-arena.js";
import { RTCP_CLEAR_HEADER, readSsrc, rtcpHeaderStatus } from "./rtp-header.js";
import { MAX_SRTCP_INDEX, StreamState } from "./stream-state.js";

/** E flag ‖ 31-bit SRTCP index (RFC 3711 §3.4). */
export const SRTCP_INDEX_BYTES = 4;
const E_FLAG = 0x80000000;

/**
 * The SRTCP half of a context (RFC 3711 §3.4): the sender's next index and the receiver's replay window
 * per SSRC, and the transforms. SrtpContext owns one; it checks the arguments and picks the keys.
 * Returns the new length, or a negated SrtpStatus with nothing changed.
 */
export class SrtcpStreams {
  private readonly next = new Map<number, number>();
  private readonly received = new Map<number, StreamState>();

  constructor(private readonly core: CryptoCore, private readonly arena: PacketArena, private readonly opts: ResolvedOptions) {}

  setNextIndex(ssrc: number, index: number): void {
    this.next.set(ssrc, index);
  }

  /** Encrypts (E = 1) and tags the compound packet `buf[0..len)` under `key`. */
  protect(buf: Uint8Array, len: number, key: MasterKey | undefined): number {
    const status = rtcpHeaderStatus(buf, len);
    if (status < 0) return status;
    const { mkiLength, profile } = this.opts;
    const authLength = len + SRTCP_INDEX_BYTES;
    const total = authLength + mkiLength + profile.srtcpTagLength;
    if (buf.length < total) return -SrtpStatus.NoCapacity;
    if (total + ROC_BYTES > this.arena.capacity) return -SrtpStatus.TooLong;
    const ssrc = readSsrc(buf, 4);
    const index = this.next.get(ssrc) ?? 0;
    if (key === undefined) return -SrtpStatus.UnknownMki;
    if (index >= MAX_SRTCP_INDEX || key.rtcpPackets >= MAX_SRTCP_INDEX) return -SrtpStatus.KeyLimit;
    const keys = key.keysFor(key.rtcp, index);
    const at = this.arena.load(buf, len);
    this.arena.writeU32(at + len, (E_FLAG | index) >>> 0);
    this.core.srtpProtect(keys, ssrc, index, at, RTCP_CLEAR_HEADER, len, authLength, 0, false, authLength + mkiLength, profile.srtcpTagLength);
    this.arena.store(buf, at, total);
    if (key.mki) buf.set(key.mki, authLength);
    this.next.set(ssrc, index + 1);
    key.rtcpPackets++;
    return total;
  }

  /** Replay check, tag check, then decryption of `buf[0..len)`; `keyAt` finds the key the MKI at an offset names. */
  unprotect(buf: Uint8Array, len: number, keyAt: (buf: Uint8Array, mkiAt: number) => MasterKey | undefined): number {
    const status = rtcpHeaderStatus(buf, len);
    if (status < 0) return status;
    const { mkiLength, profile } = this.opts;
    const authLength = len - mkiLength - profile.srtcpTagLength;
    const indexAt = authLength - SRTCP_INDEX_BYTES;
    if (indexAt < RTCP_CLEAR_HEADER) return -SrtpStatus.TooShort;
    if (len + ROC_BYTES > this.arena.capacity) return -SrtpStatus.TooLong;
    const key = keyAt(buf, authLength);
    if (key === undefined) return -SrtpStatus.UnknownMki;
    const ssrc = readSsrc(buf, 4);
    const word = readSsrc(buf, indexAt);
    const index = word & 0x7fffffff;
    const known = this.received.get(ssrc);
    if (!known && this.received.size >= this.opts.maxStreams) return -SrtpStatus.StreamLimit;
    if (known) {
      const seen = known.window.check(index);
      if (seen !== 0) return seen === 1 ? -SrtpStatus.Replayed : -SrtpStatus.TooOld;
    }
    const keys = key.keysFor(key.rtcp, index);
    const at = this.arena.load(buf, len);
    if (!this.core.srtpVerify(keys, at, authLength, 0, false, authLength + mkiLength, profile.srtcpTagLength)) {
      return -SrtpStatus.AuthFailed;
    }
    // E = 0: the sender left the compound packet in clear (RFC 3711 §3.4).
    if (word & E_FLAG) this.core.srtpXor(keys, ssrc, index, at + RTCP_CLEAR_HEADER, indexAt - RTCP_CLEAR_HEADER);
    this.arena.store(buf, at, indexAt);
    if (known) known.window.commit(index);
    else {
      const state = new StreamState(this.opts.replayWindow);
      state.window.commit(index);
      this.received.set(ssrc, state);
    }
    return indexAt;
  }
}
