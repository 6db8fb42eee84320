import type { CryptoCore } from "../wasm/core.js";
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

/** Verifies the tag of the job's packet (in the arena) under its index's ROC, in constant time. */
export function verifyJob(core: CryptoCore, job: PacketJob, mkiLength: number, tagLen: number): boolean {
  return core.srtpVerify(job.keys, job.at, job.authLength, job.roc, true, job.authLength + mkiLength, tagLen);
}

/** Tags the first `n` jobs, four at a time through the 4-lane HMAC (the MKI sits between payload and tag). */
export function tagJobs(core: CryptoCore, jobs: readonly PacketJob[], n: number, mkiLength: number, tagLen: number): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) core.srtpTagX4(jobs[k]!, jobs[k + 1]!, jobs[k + 2]!, jobs[k + 3]!, true, mkiLength, tagLen);
  for (; k < n; k++) {
    const job = jobs[k]!;
    core.srtpProtect(job.keys, job.ssrc, job.index, job.at, job.header, job.header, job.len, job.roc, true, job.len + mkiLength, tagLen);
  }
}

/** Verifies the first `n` jobs, four at a time, into their `laneOk`. */
export function verifyJobs(core: CryptoCore, jobs: readonly PacketJob[], n: number, mkiLength: number, tagLen: number): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const bits = core.srtpVerifyX4(jobs[k]!, jobs[k + 1]!, jobs[k + 2]!, jobs[k + 3]!, true, mkiLength, tagLen);
    for (let b = 0; b < 4; b++) jobs[k + b]!.laneOk = ((bits >> b) & 1) === 1;
  }
  for (; k < n; k++) jobs[k]!.laneOk = verifyJob(core, jobs[k]!, mkiLength, tagLen);
}
