// The UICC-proxy boundary (browser-safe parts): the APDU codec, the card protocol and the proxy the ME talks
// through. The card simulator is its own entry (mbms-srtp/soft-card); the Node worker glue is ./card-worker.js.
export * from "./errors.js";
export * from "./apdu.js";
export * from "./card-protocol.js";
export * from "./uicc-proxy.js";
export * from "./uicc-tek-source.js";
export * from "./delivery-response.js";
