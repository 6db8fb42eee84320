export { SrtpContext } from "./context.js";
export type { SrtpContextOptions, MasterKeyInit } from "./options.js";
export { SrtpError, SrtpStatus, type SrtpErrorCode } from "./errors.js";
export { SRTP_PROFILES, DEFAULT_PROFILE, type SrtpProfile, type SrtpProfileName } from "./profiles.js";
export type { PacketBatch } from "./batch.js";
