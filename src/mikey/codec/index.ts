/** MIKEY (RFC 3830) message codec: typed model, strict decoder, validating encoder. */
export * from "./constants.js";
export type * from "./types.js";
export { decodeMessage, encodeMessage, encodeMessageWithLayout } from "./message.js";
export type { EncodeOptions, EncodedMessage } from "./message.js";
export { decodeKeyDataList, encodeKeyDataList } from "./payloads/key-data.js";
export { decodeKeyIdList, encodeKeyIdList } from "./payloads/extension.js";
export { timestamp64 } from "./payloads/timestamp.js";
export { buildSrtpParams, readSrtpPolicy } from "./payloads/srtp-policy.js";
export type { SrtpPolicy } from "./payloads/srtp-policy.js";
export { checkPayloadOrder } from "./order.js";
export { MikeyError, MIKEY_CODEC_ERROR_CODES, MIKEY_ERROR_CODES } from "../errors.js";
export type { MikeyErrorCode } from "../errors.js";
