import { SrtpError } from "./errors.js";
import { DEFAULT_PROFILE, SRTP_PROFILES, type SrtpProfile, type SrtpProfileName } from "./profiles.js";

export interface MasterKeyInit {
  /** Master key: 16 bytes (AES-128 profiles) or 32 bytes (AES-256). */
  key: Uint8Array;
  /** Master salt: 14 bytes. */
  salt: Uint8Array;
  /** MKI value identifying this key on the wire; all keys of a context share its length. */
  mki?: Uint8Array;
}

export interface SrtpContextOptions {
  profile?: SrtpProfileName;
  /** One or more master keys. With MKIs, the first is the send key until `setSendKey`. */
  keys: MasterKeyInit[];
  /** Replay window in packets (RFC 3711 §3.3.2: ≥ 64), up to 2^15. Default 128. */
  replayWindow?: number;
  /** key_derivation_rate: 0 (derive once, the default) or a power of two up to 2^24 (RFC 3711 §4.3.1). */
  keyDerivationRate?: number;
  /** Let the sender protect the same index twice (retransmissions); otherwise refused as a replay. */
  allowRepeatTx?: boolean;
  /**
   * Received SSRCs kept, for SRTP and for SRTCP each (default 1024, up to 2^20): a packet of a further SSRC
   * is refused (ERR_STREAM_LIMIT). Whoever holds the key — in MBMS every subscriber — can make packets
   * that authenticate under any SSRC; without a bound each would cost the receiver a stream's state.
   */
  maxStreams?: number;
}

export const DEFAULT_REPLAY_WINDOW = 128;
export const MAX_REPLAY_WINDOW = 1 << 15;
export const MAX_MKI_LENGTH = 16;
export const DEFAULT_MAX_STREAMS = 1024;
const MAX_MAX_STREAMS = 1 << 20;

export interface ResolvedOptions {
  profile: SrtpProfile;
  replayWindow: number;
  kdr: number;
  mkiLength: number;
  allowRepeatTx: boolean;
  maxStreams: number;
}

const fail = (message: string): never => {
  throw new SrtpError("ERR_CONFIG", message);
};

export function resolveOptions(options: SrtpContextOptions): ResolvedOptions {
  const profile = SRTP_PROFILES[options.profile ?? DEFAULT_PROFILE] ?? fail(`unknown profile ${options.profile}`);
  const replayWindow = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
  if (!Number.isInteger(replayWindow) || replayWindow < 64 || replayWindow > MAX_REPLAY_WINDOW) {
    fail(`replayWindow must be an integer in 64..${MAX_REPLAY_WINDOW}`);
  }
  const kdr = options.keyDerivationRate ?? 0;
  if (!(kdr === 0 || (Number.isInteger(kdr) && kdr <= 2 ** 24 && (kdr & (kdr - 1)) === 0))) {
    fail("keyDerivationRate must be 0 or a power of two up to 2^24");
  }
  if (!Array.isArray(options.keys) || options.keys.length === 0) fail("at least one master key is needed");
  const mkiLength = options.keys[0]!.mki?.length ?? 0;
  if (mkiLength > MAX_MKI_LENGTH) fail(`MKI length must be 1..${MAX_MKI_LENGTH} bytes`);
  if (mkiLength === 0 && options.keys.length > 1) fail("several master keys need MKIs");
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  if (!Number.isInteger(maxStreams) || maxStreams < 1 || maxStreams > MAX_MAX_STREAMS) fail(`maxStreams must be an integer in 1..${MAX_MAX_STREAMS}`);
  return { profile, replayWindow, kdr, mkiLength, allowRepeatTx: options.allowRepeatTx ?? false, maxStreams };
}

/** Checks one key against the profile and the context's MKI length. */
export function checkKey(init: MasterKeyInit, o: ResolvedOptions): void {
  if (!(init.key instanceof Uint8Array) || init.key.length !== o.profile.keyLength) {
    fail(`${o.profile.name} master keys are ${o.profile.keyLength} bytes`);
  }
  if (!(init.salt instanceof Uint8Array) || init.salt.length !== o.profile.saltLength) {
    fail(`master salts are ${o.profile.saltLength} bytes`);
  }
  if ((init.mki?.length ?? 0) !== o.mkiLength) fail(`every MKI of this context is ${o.mkiLength} bytes`);
}
