export * from "./errors.js";
export * from "./wasm/index.js";
export * from "./srtp/index.js";
export * from "./mikey/index.js";
export * from "./mbms/errors.js";
export * from "./mbms/key-hierarchy.js";
export * from "./mbms/key-message.js";
export * from "./mbms/ue/index.js";
