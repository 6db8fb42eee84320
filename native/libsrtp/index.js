// ESM entry of the libsrtp2 Node-API addon (interop oracle / native benchmark baseline).
// Build it first with `npm run build:libsrtp`; node-gyp-build finds build/Release/*.node.
import { fileURLToPath } from "node:url";
import load from "node-gyp-build";

const addon = load(fileURLToPath(new URL(".", import.meta.url)));

/** The libsrtp SRTP/SRTCP session class (see index.d.ts for the policy shape and methods). */
export const Session = addon.Session;

/** libsrtp's version string, e.g. "libsrtp2 2.5.0". */
export function version() {
  return addon.version();
}

/** Bytes of spare capacity protect() needs after the packet (SRTP_MAX_TRAILER_LEN = 16 + 128). */
export const SRTP_MAX_TRAILER_LEN = 144;
/** Bytes of spare capacity protectRtcp() needs after the packet (4-byte SRTCP index + trailer). */
export const SRTCP_MAX_TRAILER_LEN = 148;

/** Convenience: `new Session(policy)`. */
export function createSession(policy) {
  return new Session(policy);
}
