// What the vector suites take from the library: the parts a browser receiver uses. Passed in, never
// imported, so that the same suites check src/ in Node and the built dist/ in a browser Worker.
import type * as Library from "../../src/index.js";

export type VectorLibrary = Pick<typeof Library,
  | "SrtpContext" | "MIKEY_CONST" | "labelTail" | "deriveTransportKeys" | "deriveExtensionKey"
  | "buildMki" | "deriveSrtpMasterKeys" | "deriveSkTgk" | "tekFromSkTgk"
  | "buildMbmsKeyMessage" | "openMbmsKeyMessage" | "MeTekSource" | "MkiEvaluator">;

export type { CryptoCore, MasterKeyInit, SrtpProfileName } from "../../src/index.js";
