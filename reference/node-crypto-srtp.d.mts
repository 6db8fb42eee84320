// Types for node-crypto-srtp.mjs beside it (plain JavaScript, so that benchmarks run it without a build).
/** RFC 3711 §4.3: the AES-CM PRF output for `label` and r (< 2^48), `len` bytes. */
export function srtpKdf(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, r: number, len: number): Buffer;

export interface NodeCryptoSessionKeys {
  encKey: Buffer;
  authKey: Buffer;
  salt: Buffer;
}

/** Session keys for one direction: labels base+0 (k_e), base+1 (k_a), base+2 (k_s). */
export function sessionKeys(masterKey: Uint8Array, masterSalt: Uint8Array, labelBase: number, r?: number): NodeCryptoSessionKeys;

export interface NodeCryptoSrtpOptions {
  key: Uint8Array;
  salt: Uint8Array;
  /** SRTP tag bytes (default 10). */
  tagLength?: number;
  /** SRTCP tag bytes (default 10). */
  srtcpTagLength?: number;
  mki?: Uint8Array | null;
  /** key_derivation_rate (default 0: session keys derived once). */
  keyDerivationRate?: number;
}

/** SRTP for one master key and explicit indices (the caller tracks ROC), without replay protection. */
export class NodeCryptoSrtp {
  constructor(options: NodeCryptoSrtpOptions);
  readonly key: Buffer;
  readonly salt: Buffer;
  readonly tagLength: number;
  readonly srtcpTagLength: number;
  readonly kdr: number;
  readonly mki: Buffer;
  /** Session keys for label base 0 (SRTP) or 3 (SRTCP) at packet index `index`, cached per r. */
  keys(labelBase: number, index: number): NodeCryptoSessionKeys;
  /** Protects an RTP packet whose index is ROC·2^16 + SEQ. */
  protect(packet: Uint8Array, roc?: number): Buffer;
  /** Unprotects; the RTP packet, or null when the tag does not verify. */
  unprotect(packet: Uint8Array, roc?: number): Buffer | null;
  /** Protects an RTCP compound packet with SRTCP index `index` (E = 1). */
  protectRtcp(packet: Uint8Array, index: number): Buffer;
}
