export * from "./codec/index.js";
export { sealPskMessage, openPskMessage } from "./psk.js";
export type { PskMessageInput, PskOpenOptions, OpenedPskMessage } from "./psk.js";
export { sealPskVerification, openPskVerification } from "./psk-verification.js";
export { ReplayCache } from "./replay-cache.js";
export { ntpFromMs, msFromNtp } from "./ntp.js";
export * from "./prf.js";
