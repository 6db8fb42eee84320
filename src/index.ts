export * from "./errors.js";
export * from "./wasm/index.js";
export * from "./srtp/index.js";
