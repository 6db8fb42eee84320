export * from "./errors.js";
export * from "./wasm/index.js";
