import { CoreError } from "../errors.js";
import { decodeBase64 } from "./base64.js";
import { simdCoreBase64, scalarCoreBase64 } from "./bytes.generated.js";
import type { CoreExports } from "./abi.js";
import { CryptoCore } from "./core.js";

export type CoreFlavor = "simd" | "scalar";

export interface LoadOptions {
  /** Force a build; by default SIMD when the runtime validates a SIMD probe, else scalar. */
  flavor?: CoreFlavor;
}

// (module (func (result v128) i32.const 0 i8x16.splat)): valid exactly where fixed-width SIMD is.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11,
]);

let simdSupport: boolean | undefined;

/** True when this runtime validates WebAssembly fixed-width SIMD (v128). */
export function simdSupported(): boolean {
  if (simdSupport === undefined) {
    simdSupport = typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  }
  return simdSupport;
}

const modules: Partial<Record<CoreFlavor, WebAssembly.Module>> = {};

function pickFlavor(options: LoadOptions): CoreFlavor {
  const flavor = options.flavor ?? (simdSupported() ? "simd" : "scalar");
  if (flavor === "simd" && !simdSupported()) {
    throw new CoreError("ERR_NO_WASM", "this runtime does not support WebAssembly SIMD");
  }
  return flavor;
}

function moduleBytes(flavor: CoreFlavor): Uint8Array {
  return decodeBase64(flavor === "simd" ? simdCoreBase64 : scalarCoreBase64);
}

function wrap(instance: WebAssembly.Instance, flavor: CoreFlavor): CryptoCore {
  return new CryptoCore(instance.exports as unknown as CoreExports, flavor);
}

/**
 * Instantiates a core synchronously. Each call returns an independent core with its own memory.
 * Browsers may refuse synchronous compilation of large modules on the main thread: use `initCore` there.
 */
export function loadCore(options: LoadOptions = {}): CryptoCore {
  const flavor = pickFlavor(options);
  const mod = (modules[flavor] ??= new WebAssembly.Module(moduleBytes(flavor) as BufferSource));
  return wrap(new WebAssembly.Instance(mod, {}), flavor);
}

/** Instantiates a core asynchronously (compiles off the main thread where the runtime can). */
export async function initCore(options: LoadOptions = {}): Promise<CryptoCore> {
  const flavor = pickFlavor(options);
  const mod = (modules[flavor] ??= await WebAssembly.compile(moduleBytes(flavor) as BufferSource));
  return wrap(await WebAssembly.instantiate(mod, {}), flavor);
}
