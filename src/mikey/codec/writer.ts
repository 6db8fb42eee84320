import { MikeyError } from "../errors.js";
import { MAX_MESSAGE_BYTES } from "./constants.js";

function encodeError(what: string, detail: string): MikeyError {
  return new MikeyError("ERR_ENCODE", `${what}: ${detail}`);
}

/** Checks that v is an integer in [0, max]; names the field otherwise. */
export function checkUint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw encodeError(what, `${v} is not an integer in 0..${max}`);
  return v;
}

/** A growable big-endian byte writer whose every write range-checks its value (ERR_ENCODE). */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number {
    return this.len;
  }

  private room(n: number): number {
    const at = this.len;
    if (at + n > MAX_MESSAGE_BYTES) throw encodeError("message", `longer than ${MAX_MESSAGE_BYTES} bytes`);
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf.fill(0); // what was written may be secret (wipe() only reaches the current buffer)
      this.buf = next;
    }
    this.len = at + n;
    return at;
  }

  u8(v: number, what: string): this {
    checkUint(v, 0xff, what);
    const at = this.room(1);
    this.buf[at] = v;
    return this;
  }

  u16(v: number, what: string): this {
    checkUint(v, 0xffff, what);
    const at = this.room(2);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
    return this;
  }

  u32(v: number, what: string): this {
    checkUint(v, 0xffffffff, what);
    const at = this.room(4);
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
    return this;
  }

  /** Big-endian unsigned integer in exactly n bytes. */
  uint(v: bigint, n: number, what: string): this {
    if (typeof v !== "bigint" || v < 0n || v >> BigInt(8 * n) !== 0n) throw encodeError(what, `does not fit in ${n} byte(s)`);
    const at = this.room(n);
    for (let i = n - 1; i >= 0; i--, v >>= 8n) this.buf[at + i] = Number(v & 0xffn);
    return this;
  }

  bytes(b: Uint8Array, what: string): this {
    if (!(b instanceof Uint8Array)) throw encodeError(what, "not a Uint8Array");
    const at = this.room(b.length); // before reading this.buf: room() may replace it
    this.buf.set(b, at);
    return this;
  }

  /** Writes a u8/u16 length prefix for b, then b. */
  lengthPrefixed(b: Uint8Array, lengthBytes: 1 | 2, what: string): this {
    if (!(b instanceof Uint8Array)) throw encodeError(what, "not a Uint8Array");
    if (lengthBytes === 1) this.u8(b.length, `${what} length`);
    else this.u16(b.length, `${what} length`);
    return this.bytes(b, what);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Zeroes what was written (after finish(), when it held secrets). */
  wipe(): void {
    this.buf.fill(0);
    this.len = 0;
  }
}

export { encodeError };
