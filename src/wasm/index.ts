export { loadCore, initCore, simdSupported } from "./load.js";
export { defaultCore } from "./default-core.js";
export type { CoreFlavor, LoadOptions } from "./load.js";
export { CryptoCore, SHA1_BYTES } from "./core.js";
