import type { MasterKey, SessionKeys } from "./master-key.js";
import type { StreamState } from "./stream-state.js";

/**
 * What the host decided about one RTP packet before the core transforms it: where it is, its layout,
 * its key and 48-bit index. Reused across packets (no allocation per packet).
 */
export class PacketJob {
  /** Offset of the packet in the caller's buffer, which is also its offset in the arena. */
  at = 0;
  len = 0;
  header = 0;
  /** Header + payload: what the tag covers (before the ROC) and what decrypts to. */
  authLength = 0;
  ssrc = 0;
  index = 0;
  key!: MasterKey;
  keys!: SessionKeys;
  /** The SSRC's state; undefined on receive for an SSRC whose first packet has not authenticated yet. */
  stream: StreamState | undefined;
  /** Position in its batch. */
  batchSlot = 0;
  /** Batch receive: the index its tag was checked under in the 4-lane pass (-1: not checked), and the verdict. */
  laneIndex = -1;
  laneOk = false;

  set(at: number, len: number, header: number, authLength: number, ssrc: number, index: number, key: MasterKey, stream: StreamState | undefined): void {
    this.at = at;
    this.len = len;
    this.header = header;
    this.authLength = authLength;
    this.ssrc = ssrc;
    this.index = index;
    this.key = key;
    this.stream = stream;
  }

  get roc(): number {
    return Math.floor(this.index / 65536);
  }
}
