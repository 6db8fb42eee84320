/**
 * What turns a received datagram into plain RTP for a UdpMbmsReceiver: the MkiEvaluator (MIKEY-keyed, keys
 * selected by MKI) fits it as it is; FixedKeyDecryptor is the one-key, no-MKI case.
 */
import type { MkiEvaluatorStats } from "../mbms/ue/index.js";
import type { PacketBatch } from "../srtp/batch.js";

export type DecryptorStats = Pick<MkiEvaluatorStats, "authFailed" | "replayed" | "refused" | "queuedDropped" | "switches" | "currentMki">;

export interface Decryptor {
  /** One datagram `buf[0..len)`: decrypted in place and handed on as plain RTP, queued, or refused and counted. */
  receive(buf: Uint8Array, len: number): void;
  /** Optional: several datagrams at once (the SRTP batch path), with the same outcome as receive() on each. */
  receiveBatch?(batch: PacketBatch): void;
  /** Counters (a snapshot). */
  readonly stats: DecryptorStats;
  /** Resolves once no work is in flight (e.g. TEK derivations). */
  settled(): Promise<void>;
  /** Zeroes the keys. */
  close(): void;
}
