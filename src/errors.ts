/**
 * Typed errors with stable codes. Messages never contain key material: only lengths, indices and
 * offsets, which are public.
 */
export type CoreErrorCode =
  | "ERR_KEY_LENGTH" // key of a length the primitive does not accept
  | "ERR_SLOT" // key slot index out of range
  | "ERR_RANGE" // (offset, length) not inside the region it must lie in
  | "ERR_OUTPUT_SIZE" // output buffer too small
  | "ERR_ARGUMENT" // other malformed argument (IV length, lane count, …)
  | "ERR_SLOTS_EXHAUSTED" // every key slot of the core is in use
  | "ERR_NO_KEY" // the slot holds no key
  | "ERR_NO_WASM"; // the runtime cannot instantiate the core

export class MbmsSrtpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = new.target.name;
    this.code = code;
  }
}

export class CoreError extends MbmsSrtpError {
  declare readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string) {
    super(code, message);
  }
}
