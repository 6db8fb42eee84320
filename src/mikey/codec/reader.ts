import { MikeyError, type MikeyErrorCode } from "../errors.js";

/**
 * A bounds-checked cursor over [start, end) of a byte array. Every read checks the remaining length
 * first and throws MikeyError (never RangeError): reading past `end` is impossible by construction.
 * `overrun` is the code thrown when a read would pass `end`: ERR_TRUNCATED for the whole message,
 * ERR_LENGTH for a region bounded by a length field inside it.
 */
export class ByteReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
    private readonly overrun: MikeyErrorCode = "ERR_TRUNCATED",
  ) {
    this.pos = start;
  }

  /** Absolute offset of the next byte in the underlying array. */
  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new MikeyError(this.overrun, `${what}: needs ${n} byte(s) at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A copy of the next n bytes (the decoded model never aliases the input). */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Big-endian unsigned integer of n ≤ 8 bytes. */
  uint(n: number, what: string): bigint {
    this.need(n, what);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.pos + i]!);
    this.pos += n;
    return v;
  }

  /** A reader over the next n bytes, whose overruns throw `code`; this reader skips past them. */
  sub(n: number, what: string, code: MikeyErrorCode = "ERR_LENGTH"): ByteReader {
    this.need(n, what);
    const r = new ByteReader(this.buf, this.pos, this.pos + n, code);
    this.pos += n;
    return r;
  }

  /** Throws `code` unless every byte has been read. */
  expectEnd(code: MikeyErrorCode, what: string): void {
    if (this.pos !== this.end) {
      throw new MikeyError(code, `${what}: ${this.end - this.pos} unexpected byte(s) at offset ${this.pos}`);
    }
  }
}
