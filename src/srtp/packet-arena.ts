import type { CryptoCore } from "../wasm/core.js";

/** Slack up to which a whole caller buffer is copied rather than viewed (a view would allocate). */
const COPY_WHOLE_SLACK = 64;

/**
 * Moves packets between caller buffers and the core's arena without allocating in the steady state:
 * inputs are copied whole when their slack is small, outputs through views cached per length.
 */
/** The transforms use 4 bytes after the authenticated portion for the ROC (RFC 3711 §4.2). */
export const ROC_BYTES = 4;

export class PacketArena {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly views: Uint8Array[] = [];

  constructor(core: CryptoCore) {
    this.bytes = core.arena;
    this.view = new DataView(core.arena.buffer, core.arena.byteOffset, core.arena.length);
  }

  /** Largest packet (with trailer and 4 bytes of ROC scratch) that fits. */
  get capacity(): number {
    return this.bytes.length;
  }

  /** Copies `buf[0..len)` to the arena; returns its arena offset. The caller checked `len` ≤ capacity. */
  load(buf: Uint8Array, len: number): number {
    if (buf.length - len <= COPY_WHOLE_SLACK && buf.length <= this.bytes.length) this.bytes.set(buf, 0);
    else this.bytes.set(buf.subarray(0, len), 0);
    return 0;
  }

  /** Copies arena bytes `[at, at+n)` to `buf[0..n)`. */
  store(buf: Uint8Array, at: number, n: number): void {
    buf.set(at === 0 ? (this.views[n] ??= this.bytes.subarray(0, n)) : this.bytes.subarray(at, at + n));
  }

  /** Copies `buf[0..span)` to arena `[0..span)` (a batch: packets keep their offsets). */
  loadSpan(buf: Uint8Array, span: number): void {
    this.bytes.set(buf.subarray(0, span), 0);
  }

  /** Copies arena `[0..span)` back to `buf[0..span)`. */
  storeSpan(buf: Uint8Array, span: number): void {
    buf.set(this.bytes.subarray(0, span), 0);
  }

  writeU32(at: number, value: number): void {
    this.view.setUint32(at, value);
  }

  /** Zeroes the arena (plaintext may linger there after the last packet). */
  wipe(): void {
    this.bytes.fill(0);
  }
}
