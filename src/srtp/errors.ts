import { MbmsSrtpError } from "../errors.js";

/**
 * Why a packet was refused. The numeric values are stable: `tryUnprotect` & co. return them negated,
 * the batch API reports them per packet, and `SrtpError.status` carries them.
 */
export enum SrtpStatus {
  Ok = 0,
  AuthFailed = 1, // the tag does not verify
  Replayed = 2, // index already seen inside the replay window
  TooOld = 3, // index behind the replay window
  UnknownMki = 4, // no master key with this MKI
  TooShort = 5, // shorter than header + MKI + tag (or the RTCP minimum)
  BadVersion = 6, // RTP/RTCP version is not 2
  HeaderOverrun = 7, // CSRC list or header extension runs past the end
  KeyLimit = 8, // the master key has protected its 2^48 SRTP (2^31 SRTCP) packets: rekey
  NoCapacity = 9, // the buffer has no room for MKI + tag (+ SRTCP index)
  TooLong = 10, // larger than the core's packet arena
  StreamLimit = 11, // a new SSRC while the context already keeps maxStreams received streams
}

export type SrtpErrorCode =
  | "ERR_AUTH" | "ERR_REPLAY" | "ERR_TOO_OLD" | "ERR_UNKNOWN_MKI" | "ERR_TOO_SHORT" | "ERR_BAD_VERSION"
  | "ERR_HEADER_OVERRUN" | "ERR_KEY_LIMIT" | "ERR_NO_CAPACITY" | "ERR_TOO_LONG" | "ERR_STREAM_LIMIT"
  | "ERR_CONFIG" // invalid context option or key (length, profile, MKI length)
  | "ERR_ARGUMENT" // a call's arguments do not fit (length beyond the buffer, malformed batch)
  | "ERR_CLOSED" // the context (or crypto pool) has been closed
  | "ERR_BUSY" // a crypto pool's rings are full: await an earlier batch first
  | "ERR_WORKER"; // a crypto pool's worker died or failed

const STATUS_CODES: Record<number, SrtpErrorCode> = {
  [SrtpStatus.AuthFailed]: "ERR_AUTH",
  [SrtpStatus.Replayed]: "ERR_REPLAY",
  [SrtpStatus.TooOld]: "ERR_TOO_OLD",
  [SrtpStatus.UnknownMki]: "ERR_UNKNOWN_MKI",
  [SrtpStatus.TooShort]: "ERR_TOO_SHORT",
  [SrtpStatus.BadVersion]: "ERR_BAD_VERSION",
  [SrtpStatus.HeaderOverrun]: "ERR_HEADER_OVERRUN",
  [SrtpStatus.KeyLimit]: "ERR_KEY_LIMIT",
  [SrtpStatus.NoCapacity]: "ERR_NO_CAPACITY",
  [SrtpStatus.TooLong]: "ERR_TOO_LONG",
  [SrtpStatus.StreamLimit]: "ERR_STREAM_LIMIT",
};

const STATUS_TEXT: Record<number, string> = {
  [SrtpStatus.AuthFailed]: "authentication tag does not verify",
  [SrtpStatus.Replayed]: "packet index already received (replay)",
  [SrtpStatus.TooOld]: "packet index is behind the replay window",
  [SrtpStatus.UnknownMki]: "no master key has this MKI",
  [SrtpStatus.TooShort]: "packet too short",
  [SrtpStatus.BadVersion]: "version is not 2",
  [SrtpStatus.HeaderOverrun]: "CSRC list or header extension runs past the end of the packet",
  [SrtpStatus.KeyLimit]: "master key has reached its packet limit; rekey",
  [SrtpStatus.NoCapacity]: "buffer has no room for the SRTP trailer",
  [SrtpStatus.TooLong]: "packet larger than the packet arena",
  [SrtpStatus.StreamLimit]: "too many received streams (SSRCs) for this context",
};

export class SrtpError extends MbmsSrtpError {
  declare readonly code: SrtpErrorCode;
  /** The SrtpStatus for packet errors, 0 for configuration errors. */
  readonly status: SrtpStatus;
  constructor(code: SrtpErrorCode, message: string, status: SrtpStatus = SrtpStatus.Ok) {
    super(code, message);
    this.status = status;
  }

  static fromStatus(status: SrtpStatus): SrtpError {
    return new SrtpError(STATUS_CODES[status] ?? "ERR_CONFIG", STATUS_TEXT[status] ?? `status ${status}`, status);
  }
}
