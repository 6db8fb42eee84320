// `mbms-srtp/browser`: the browser receiver (ESM, no Node built-ins). The relay (`mbms-srtp relay`) forwards
// the SRTP stream unchanged over WebSocket; the page keys itself from the key server and decrypts in WASM.
export { BrowserReceiver, type BrowserReceiverOptions } from "./browser-receiver.js";
export { BrowserReceiverError, type BrowserErrorCode } from "./errors.js";
export type { BrowserReceiverStats, ReceiverConfig, SwitchLatency } from "./protocol.js";
export { initCore, loadCore } from "../wasm/load.js";
