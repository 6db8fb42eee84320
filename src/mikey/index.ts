export * from "./codec/index.js";
export { sealPskMessage, openPskMessage, DEFAULT_CLOCK_SKEW_MS } from "./psk.js";
export type { PskMessageInput, PskOpenOptions, OpenedPskMessage } from "./psk.js";
export { EXT_TYPE_SEALED_KEY_IDS } from "./sealed-extension.js";
export type { SealedExtension } from "./sealed-extension.js";
export { sealPskVerification, openPskVerification } from "./psk-verification.js";
export { ReplayCache, type ReplayRefusal } from "./replay-cache.js";
export { ntpFromMs, msFromNtp } from "./ntp.js";
export * from "./prf.js";
