// The UICC-proxy boundary (browser-safe parts). The Node worker glue is ./card-worker.js (node:worker_threads).
export * from "./errors.js";
export * from "./apdu.js";
export * from "./soft-card.js";
export * from "./card-protocol.js";
export * from "./uicc-proxy.js";
