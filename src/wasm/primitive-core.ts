import { CoreError } from "../errors.js";
import type { CoreExports } from "./abi.js";
import { SlotPool } from "./slot-pool.js";

export const SHA1_BYTES = 20;
export const AES_KEY_LENGTHS = [16, 24, 32];
/** FIPS-197 §5: Nr = Nk + 6. */
export const roundsFor = (keyLength: number) => keyLength / 4 + 6;
export const LANES = 4;

/**
 * The primitives of one WASM core instance (its memory, key slots, AES, SHA-1, HMAC-SHA1, constant-time
 * compare) and the validation every call goes through, so that the core itself never sees an
 * out-of-range offset. CryptoCore (core.ts) adds the SRTP transforms and the MIKEY PRF on top.
 *
 * Two levels of API:
 * - `…InArena` methods work on bytes already in `arena` (offsets are arena-relative) and never allocate:
 *   the per-packet path uses these.
 * - The other methods copy caller buffers in and out: convenient, for keys, vectors and tools.
 */
export class PrimitiveCore {
  /** The packet arena: write inputs here, transform them in place. */
  readonly arena: Uint8Array;
  readonly aesSlots: number;
  readonly hmacSlots: number;
  readonly saltSlots: number;
  /** Slot allocation, so that several SRTP contexts can share one core. */
  readonly aesPool: SlotPool;
  readonly hmacPool: SlotPool;
  readonly saltPool: SlotPool;
  protected readonly raw: CoreExports;
  protected readonly mem: Uint8Array;
  protected readonly arenaAt: number;
  protected readonly scratchAt: number;
  protected readonly scratchBytes: number;
  /** AES rounds of the key in each slot (0 = no key): key lengths are public, so the host passes them. */
  protected readonly aesRounds: Uint8Array;

  constructor(raw: CoreExports, readonly flavor: "simd" | "scalar") {
    this.raw = raw;
    this.mem = new Uint8Array(raw.memory.buffer);
    if (raw.memoryEnd() > this.mem.length) throw new CoreError("ERR_NO_WASM", "core memory layout exceeds its memory");
    this.arenaAt = raw.arenaOffset();
    this.arena = this.mem.subarray(this.arenaAt, this.arenaAt + raw.arenaBytes());
    this.scratchAt = raw.scratchOffset();
    this.scratchBytes = raw.scratchBytes();
    this.aesSlots = raw.aesSlots();
    this.hmacSlots = raw.hmacSlots();
    this.saltSlots = raw.saltSlots();
    this.aesRounds = new Uint8Array(this.aesSlots);
    this.aesPool = new SlotPool("AES", this.aesSlots);
    this.hmacPool = new SlotPool("HMAC", this.hmacSlots);
    this.saltPool = new SlotPool("salt", this.saltSlots);
  }

  // ---- AES ---------------------------------------------------------------------------------------

  /** Expands a 16-, 24- or 32-byte AES key into `slot` (bitsliced round keys, computed once). */
  setAesKey(slot: number, key: Uint8Array): void {
    this.checkSlot(slot, this.aesSlots);
    if (!AES_KEY_LENGTHS.includes(key.length)) {
      throw new CoreError("ERR_KEY_LENGTH", `AES keys are 16, 24 or 32 bytes, got ${key.length}`);
    }
    this.withScratchKey(key, (at) => this.raw.aesSetKey(slot, at, key.length));
    this.aesRounds[slot] = roundsFor(key.length);
  }

  /** Zeroes the round keys in `slot`. */
  wipeAesKey(slot: number): void {
    this.checkSlot(slot, this.aesSlots);
    this.raw.aesWipeKey(slot);
    this.aesRounds[slot] = 0;
  }

  /** AES encryption of whole 16-byte blocks (ECB), `blocks` from arena offset `src` to `dst`. */
  aesEncryptBlocksInArena(slot: number, src: number, dst: number, blocks: number): void {
    const rounds = this.keyedAesSlot(slot);
    this.checkArena(src, blocks * 16);
    this.checkArena(dst, blocks * 16);
    this.raw.aesEncryptBlocks(slot, rounds, this.arenaAt + src, this.arenaAt + dst, blocks);
  }

  /** AES encryption of whole blocks; returns a new array (or fills `out`). */
  aesEncryptBlocks(slot: number, input: Uint8Array, out: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    if (input.length % 16 !== 0) throw new CoreError("ERR_ARGUMENT", `input must be whole 16-byte blocks, got ${input.length} bytes`);
    this.checkOutput(out, input.length);
    this.putArena(input, 0);
    this.aesEncryptBlocksInArena(slot, 0, 0, input.length / 16);
    out.set(this.arena.subarray(0, input.length));
    return out;
  }

  /**
   * XORs the AES-CM keystream (RFC 3711 §4.1.1) into arena bytes [at, at+len) in place. The 16-byte
   * counter block is at arena offset `ivAt`; block j uses it with j added to its last 32 bits.
   */
  aesCmXorInArena(slot: number, ivAt: number, at: number, len: number): void {
    const rounds = this.keyedAesSlot(slot);
    this.checkArena(ivAt, 16);
    this.checkArena(at, len);
    this.raw.aesCmXor(slot, rounds, this.arenaAt + ivAt, this.arenaAt + at, len);
  }

  /**
   * XORs the AES-CM keystream for `iv` into `data` in place. Any length: long inputs go through the
   * arena in chunks, the counter (last 32 bits of the IV, big-endian) advanced by the blocks done.
   */
  aesCmXor(slot: number, iv: Uint8Array, data: Uint8Array): void {
    if (iv.length !== 16) throw new CoreError("ERR_ARGUMENT", `the AES-CM IV is 16 bytes, got ${iv.length}`);
    const rounds = this.keyedAesSlot(slot);
    const chunk = (this.arena.length - 16) & ~15;
    const counter = new DataView(iv.buffer, iv.byteOffset + 12, 4).getUint32(0);
    const ivView = new DataView(this.arena.buffer, this.arena.byteOffset + 12, 4);
    for (let done = 0; done < data.length; done += chunk) {
      const len = Math.min(chunk, data.length - done);
      this.arena.set(iv, 0);
      ivView.setUint32(0, (counter + done / 16) >>> 0);
      this.arena.set(data.subarray(done, done + len), 16);
      this.raw.aesCmXor(slot, rounds, this.arenaAt, this.arenaAt + 16, len);
      data.set(this.arena.subarray(16, 16 + len), done);
    }
  }

  // ---- SHA-1 and HMAC-SHA1 -----------------------------------------------------------------------

  /** SHA-1 of arena bytes [at, at+len) to arena offset `outAt` (20 bytes). */
  sha1InArena(at: number, len: number, outAt: number): void {
    this.checkArena(at, len);
    this.checkArena(outAt, SHA1_BYTES);
    this.raw.sha1(this.arenaAt + at, len, this.arenaAt + outAt);
  }

  sha1(data: Uint8Array): Uint8Array {
    this.putArena(data, SHA1_BYTES);
    this.sha1InArena(SHA1_BYTES, data.length, 0);
    return this.arena.slice(0, SHA1_BYTES);
  }

  /** Precomputes the HMAC-SHA1 inner and outer states of `key` (any length) into `slot`. */
  setHmacKey(slot: number, key: Uint8Array): void {
    this.checkSlot(slot, this.hmacSlots);
    if (key.length > this.scratchBytes) {
      throw new CoreError("ERR_KEY_LENGTH", `HMAC keys up to ${this.scratchBytes} bytes, got ${key.length}`);
    }
    this.withScratchKey(key, (at) => this.raw.hmacSetKey(slot, at, key.length));
  }

  wipeHmacKey(slot: number): void {
    this.checkSlot(slot, this.hmacSlots);
    this.raw.hmacWipeKey(slot);
  }

  /** Full 20-byte HMAC-SHA1 of arena bytes [at, at+len) to arena offset `outAt`. */
  hmacSha1InArena(slot: number, at: number, len: number, outAt: number): void {
    this.checkSlot(slot, this.hmacSlots);
    this.checkArena(at, len);
    this.checkArena(outAt, SHA1_BYTES);
    this.raw.hmacSha1(slot, this.arenaAt + at, len, this.arenaAt + outAt);
  }

  hmacSha1(slot: number, data: Uint8Array): Uint8Array {
    this.putArena(data, SHA1_BYTES);
    this.hmacSha1InArena(slot, SHA1_BYTES, data.length, 0);
    return this.arena.slice(0, SHA1_BYTES);
  }

  /**
   * Four SHA-1 digests at once (v128 lanes in the SIMD build). `lanes` holds 4 × [at, len, outAt],
   * arena-relative. Lengths may differ.
   */
  sha1x4InArena(lanes: ArrayLike<number>): void {
    this.checkLaneCount(lanes, 3);
    for (let i = 0; i < LANES; i++) {
      this.checkArena(lanes[3 * i]!, lanes[3 * i + 1]!);
      this.checkArena(lanes[3 * i + 2]!, SHA1_BYTES);
    }
    const r = this.arenaAt, l = lanes as readonly number[];
    this.raw.sha1x4(
      r + l[0]!, l[1]!, r + l[2]!, r + l[3]!, l[4]!, r + l[5]!, r + l[6]!, l[7]!, r + l[8]!, r + l[9]!, l[10]!, r + l[11]!,
    );
  }

  sha1x4(messages: readonly Uint8Array[]): Uint8Array[] {
    const lanes = this.layoutLanes(messages);
    this.sha1x4InArena(lanes);
    return this.laneDigests(lanes);
  }

  /** Four HMAC-SHA1 tags at once. `lanes` holds 4 × [slot, at, len, outAt], arena-relative. */
  hmacSha1x4InArena(lanes: ArrayLike<number>): void {
    this.checkLaneCount(lanes, 4);
    for (let i = 0; i < LANES; i++) {
      this.checkSlot(lanes[4 * i]!, this.hmacSlots);
      this.checkArena(lanes[4 * i + 1]!, lanes[4 * i + 2]!);
      this.checkArena(lanes[4 * i + 3]!, SHA1_BYTES);
    }
    const r = this.arenaAt, l = lanes as readonly number[];
    this.raw.hmacSha1x4(
      l[0]!, r + l[1]!, l[2]!, r + l[3]!, l[4]!, r + l[5]!, l[6]!, r + l[7]!,
      l[8]!, r + l[9]!, l[10]!, r + l[11]!, l[12]!, r + l[13]!, l[14]!, r + l[15]!,
    );
  }

  hmacSha1x4(slots: readonly number[], messages: readonly Uint8Array[]): Uint8Array[] {
    if (slots.length !== LANES) throw new CoreError("ERR_ARGUMENT", `expected ${LANES} slots, got ${slots.length}`);
    const lanes = this.layoutLanes(messages);
    this.hmacSha1x4InArena(slots.flatMap((slot, i) => [slot, lanes[3 * i]!, lanes[3 * i + 1]!, lanes[3 * i + 2]!]));
    return this.laneDigests(lanes);
  }

  // ---- comparison --------------------------------------------------------------------------------

  /** Constant-time equality of arena bytes [a, a+len) and [b, b+len). */
  ctEqualInArena(a: number, b: number, len: number): boolean {
    this.checkArena(a, len);
    this.checkArena(b, len);
    return this.raw.ctEqual(this.arenaAt + a, this.arenaAt + b, len) === 1;
  }

  /** Constant-time equality of two byte arrays (false, without comparing, when lengths differ). */
  ctEqual(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    this.putArena(a, 0);
    this.putArena(b, a.length);
    return this.ctEqualInArena(0, a.length, a.length);
  }

  // ---- validation and plumbing -------------------------------------------------------------------

  protected checkSlot(slot: number, count: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= count) {
      throw new CoreError("ERR_SLOT", `slot ${slot} is not in 0..${count - 1}`);
    }
  }

  protected checkArena(at: number, len: number): void {
    if (!Number.isInteger(at) || !Number.isInteger(len) || at < 0 || len < 0 || at + len > this.arena.length) {
      throw new CoreError("ERR_RANGE", `[${at}, ${at}+${len}) is not inside the ${this.arena.length}-byte arena`);
    }
  }

  /** Checks that `slot` holds an AES key; returns its round count. */
  protected keyedAesSlot(slot: number): number {
    this.checkSlot(slot, this.aesSlots);
    const rounds = this.aesRounds[slot]!;
    if (rounds === 0) throw new CoreError("ERR_NO_KEY", `AES slot ${slot} holds no key`);
    return rounds;
  }




  protected checkOutput(out: Uint8Array, len: number): void {
    if (out.length < len) throw new CoreError("ERR_OUTPUT_SIZE", `output needs ${len} bytes, has ${out.length}`);
  }

  protected putArena(data: Uint8Array, at: number): void {
    this.checkArena(at, data.length);
    this.arena.set(data, at);
  }

  /** Places `key` in scratch for the duration of `use`, then zeroes it. */
  protected withScratchKey(key: Uint8Array, use: (at: number) => void): void {
    this.mem.set(key, this.scratchAt);
    try {
      use(this.scratchAt);
    } finally {
      this.mem.fill(0, this.scratchAt, this.scratchAt + key.length);
    }
  }

  /** Places four messages back to back in the arena; returns 4 × [at, len, outAt]. */
  protected layoutLanes(messages: readonly Uint8Array[]): number[] {
    if (messages.length !== LANES) throw new CoreError("ERR_ARGUMENT", `expected ${LANES} messages, got ${messages.length}`);
    const lanes: number[] = [];
    let at = LANES * SHA1_BYTES;
    messages.forEach((m, i) => {
      this.putArena(m, at);
      lanes.push(at, m.length, i * SHA1_BYTES);
      at += m.length;
    });
    return lanes;
  }

  protected laneDigests(lanes: number[]): Uint8Array[] {
    return [0, 1, 2, 3].map((i) => this.arena.slice(lanes[3 * i + 2]!, lanes[3 * i + 2]! + SHA1_BYTES));
  }

  protected checkLaneCount(lanes: ArrayLike<number>, perLane: number): void {
    if (lanes.length !== LANES * perLane) {
      throw new CoreError("ERR_ARGUMENT", `expected ${LANES * perLane} lane values, got ${lanes.length}`);
    }
  }
}
