import { MbmsSrtpError } from "../errors.js";

/**
 * Why a MIKEY message (RFC 3830) was refused by the codec, or could not be built. Messages name
 * fields, offsets and lengths only, never key material.
 */
export type MikeyErrorCode =
  | "ERR_TRUNCATED" // the message ends inside a field
  | "ERR_TOO_LARGE" // the message is larger than MAX_MESSAGE_BYTES
  | "ERR_VERSION" // HDR version is not 1
  | "ERR_UNKNOWN_DATA_TYPE" // HDR data type not in RFC 3830 Table 6.1.a
  | "ERR_UNKNOWN_MAP_TYPE" // HDR CS ID map type is neither SRTP-ID (0) nor Empty (1, RFC 4563)
  | "ERR_UNKNOWN_PAYLOAD" // a next-payload value that is not an RFC 3830 payload (or a sub-payload where it cannot be)
  | "ERR_PAYLOAD_ORDER" // payload out of the order RFC 3830 §3/§4.5 allows for the data type, repeated, or missing
  | "ERR_TRAILING_DATA" // bytes left after the Last payload (or after the last Key data sub-payload)
  | "ERR_LENGTH" // a length field disagrees with the region that contains it (SP params, extension, Key data list)
  | "ERR_UNKNOWN_TS_TYPE" // T payload TS type not NTP-UTC / NTP / COUNTER
  | "ERR_UNKNOWN_ID_TYPE" // ID type not NAI / URI / byte string, or CERT type not 0..3
  | "ERR_UNKNOWN_PROT_TYPE" // SP payload prot type other than SRTP (0)
  | "ERR_UNKNOWN_ALGORITHM" // an algorithm whose output length decides the layout (MAC, hash, DH group) is unknown
  | "ERR_UNKNOWN_KEY_TYPE" // Key data sub-payload type not TGK / TGK+SALT / TEK / TEK+SALT
  | "ERR_UNKNOWN_KV_TYPE" // KV type not NULL / SPI / Interval
  | "ERR_SP_PARAM" // an SRTP policy parameter with the wrong width or repeated (SRTP policy helpers)
  | "ERR_ENCODE" // the model cannot be encoded (a value out of range for its field, inconsistent fields)
  // PSK processing (RFC 3830 §4.2, §5.3); the message decoded but is refused:
  | "ERR_AUTH" // the MAC does not verify (nothing was decrypted)
  | "ERR_TIMESTAMP" // T outside the allowed clock skew, or a counter not above the last one accepted
  | "ERR_REPLAY" // an authenticated message seen before (the replay cache)
  | "ERR_REPLAY_CACHE_FULL" // the replay cache is full of fresh messages (an overload): refused until it has room, §5.4
  | "ERR_UNSUPPORTED" // a valid but unsupported choice: data type, encryption (AES-KW), MAC NULL with encryption
  | "ERR_NO_PSK" // no pre-shared key for the message's identities
  | "ERR_NO_RAND"; // an update (no RAND payload) and no RAND of the initial exchange given

/** The codes the codec itself throws (decoding and encoding). */
export const MIKEY_CODEC_ERROR_CODES: readonly MikeyErrorCode[] = [
  "ERR_TRUNCATED", "ERR_TOO_LARGE", "ERR_VERSION", "ERR_UNKNOWN_DATA_TYPE", "ERR_UNKNOWN_MAP_TYPE",
  "ERR_UNKNOWN_PAYLOAD", "ERR_PAYLOAD_ORDER", "ERR_TRAILING_DATA", "ERR_LENGTH", "ERR_UNKNOWN_TS_TYPE",
  "ERR_UNKNOWN_ID_TYPE", "ERR_UNKNOWN_PROT_TYPE", "ERR_UNKNOWN_ALGORITHM", "ERR_UNKNOWN_KEY_TYPE",
  "ERR_UNKNOWN_KV_TYPE", "ERR_SP_PARAM", "ERR_ENCODE",
];

/** Every MikeyErrorCode, e.g. for tests that check a thrown code is a documented one. */
export const MIKEY_ERROR_CODES: readonly MikeyErrorCode[] = [
  ...MIKEY_CODEC_ERROR_CODES,
  "ERR_AUTH", "ERR_TIMESTAMP", "ERR_REPLAY", "ERR_REPLAY_CACHE_FULL", "ERR_UNSUPPORTED", "ERR_NO_PSK", "ERR_NO_RAND",
];

export class MikeyError extends MbmsSrtpError {
  declare readonly code: MikeyErrorCode;
  constructor(code: MikeyErrorCode, message: string) {
    super(code, message);
  }
}
