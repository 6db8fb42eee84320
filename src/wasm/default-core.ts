import type { CryptoCore } from "./core.js";
import { loadCore } from "./load.js";

let shared: CryptoCore | undefined;

/**
 * The core every API uses when none is passed: one per process, page or worker, loaded on first use.
 * Contexts on it share its memory and its key slots (64 SRTP master keys at a time); pass a core of
 * your own (`loadCore()`, 1.5 MB of WASM memory) to isolate a context's keys or to hold more.
 */
export function defaultCore(): CryptoCore {
  return (shared ??= loadCore());
}
