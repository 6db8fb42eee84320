import { CoreError } from "../errors.js";
import type { CoreExports } from "./abi.js";
import { SlotPool } from "./slot-pool.js";

export const SHA1_BYTES = 20;
const AES_KEY_LENGTHS = [16, 24, 32];
const SALT_BYTES = 14;
/** FIPS-197 §5: Nr = Nk + 6. */
const roundsFor = (keyLength: number) => keyLength / 4 + 6;
const KDF_MAX_BYTES = 32;

/** One packet of a 4-lane SRTP call: keys, arena offset, authenticated length and ROC. */
export interface SrtpLane {
  readonly keys: SessionKeySlots;
  readonly at: number;
  readonly authLength: number;
  readonly roc: number;
}

/** The core slots that hold one direction's SRTP session keys. */
export interface SessionKeySlots {
  readonly aesSlot: number;
  readonly hmacSlot: number;
  readonly saltSlot: number;
}
const LANES = 4;

/**
 * One instance of the WASM crypto core, with its own memory and key slots.
 *
 * Two levels of API:
 * - `…InArena` methods work on bytes already in `arena` (offsets are arena-relative) and never allocate:
 *   the per-packet path uses these.
 * - The other methods copy caller buffers in and out: convenient, for keys, vectors and tools.
 *
 * Every argument is validated here, so the core itself never sees an out-of-range offset.
 */
export class CryptoCore {
  /** The packet arena: write inputs here, transform them in place. */
  readonly arena: Uint8Array;
  readonly aesSlots: number;
  readonly hmacSlots: number;
  readonly saltSlots: number;
  /** Slot allocation, so that several SRTP contexts can share one core. */
  readonly aesPool: SlotPool;
  readonly hmacPool: SlotPool;
  readonly saltPool: SlotPool;
  private readonly raw: CoreExports;
  private readonly mem: Uint8Array;
  private readonly arenaAt: number;
  private readonly scratchAt: number;
  private readonly scratchBytes: number;
  /** AES rounds of the key in each slot (0 = no key): key lengths are public, so the host passes them. */
  private readonly aesRounds: Uint8Array;

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

  // ---- SRTP transforms (RFC 3711; see assembly/srtp.ts) ------------------------------------------

  /** Stores a 14-byte salt in salt slot `slot`. */
  setSalt(slot: number, salt: Uint8Array): void {
    this.checkSlot(slot, this.saltSlots);
    if (salt.length !== SALT_BYTES) throw new CoreError("ERR_KEY_LENGTH", `salts are ${SALT_BYTES} bytes, got ${salt.length}`);
    this.withScratchKey(salt, (at) => this.raw.saltSet(slot, at));
  }

  wipeSalt(slot: number): void {
    this.checkSlot(slot, this.saltSlots);
    this.raw.saltWipe(slot);
  }

  /**
   * The SRTP key derivation function (RFC 3711 §4.3, AES-CM PRF, label at byte 7 for SRTCP too as in
   * errata 3712): `len` ≤ 32 bytes for `label` and r, from the master key in AES slot `masterSlot` and
   * the master salt in salt slot `masterSalt`. For test vectors and tools; contexts use
   * `deriveSrtpSessionKeys`, which never lets the session keys out of the core.
   */
  srtpKdf(masterSlot: number, masterSalt: number, label: number, r: number, len: number): Uint8Array {
    const rounds = this.keyedAesSlot(masterSlot);
    this.checkSlot(masterSalt, this.saltSlots);
    this.checkKdfArgs(label, r);
    if (!Number.isInteger(len) || len < 0 || len > KDF_MAX_BYTES) throw new CoreError("ERR_ARGUMENT", `KDF output is 0..${KDF_MAX_BYTES} bytes`);
    this.raw.srtpKdf(masterSlot, rounds, masterSalt, label, Math.floor(r / 2 ** 32), r >>> 0, this.arenaAt, len);
    const out = this.arena.slice(0, len);
    this.arena.fill(0, 0, len);
    return out;
  }

  /** Derives and installs one direction's session keys (labels labelBase..labelBase+2) for r. */
  deriveSrtpSessionKeys(
    masterSlot: number, masterSalt: number, labelBase: number, r: number, keyLen: number,
    aesSlot: number, hmacSlot: number, saltSlot: number,
  ): void {
    // RFC 6188 §3.1: the PRF uses the master key, whose size is the session key's.
    if (this.keyedAesSlot(masterSlot) !== roundsFor(keyLen)) throw new CoreError("ERR_KEY_LENGTH", "master and session keys differ in size");
    this.checkSlot(masterSalt, this.saltSlots);
    this.checkSlot(aesSlot, this.aesSlots);
    this.checkSlot(hmacSlot, this.hmacSlots);
    this.checkSlot(saltSlot, this.saltSlots);
    this.checkKdfArgs(labelBase + 2, r);
    if (!AES_KEY_LENGTHS.includes(keyLen)) throw new CoreError("ERR_KEY_LENGTH", `AES keys are 16, 24 or 32 bytes, got ${keyLen}`);
    this.raw.srtpDeriveSessionKeys(masterSlot, masterSalt, labelBase, Math.floor(r / 2 ** 32), r >>> 0, keyLen, aesSlot, hmacSlot, saltSlot);
    this.aesRounds[aesSlot] = roundsFor(keyLen);
  }

  /**
   * Encrypt-then-MAC on the packet at arena offset `at`: encrypts [encFrom, encTo), authenticates
   * [0, authLen) (‖ ROC when `withRoc`) and writes `tagLen` tag bytes at `tagAt` (offsets packet-relative).
   * Uses 4 bytes at `authLen` as scratch for the ROC.
   */
  srtpProtect(
    keys: SessionKeySlots, ssrc: number, index: number, at: number,
    encFrom: number, encTo: number, authLen: number, roc: number, withRoc: boolean, tagAt: number, tagLen: number,
  ): void {
    this.checkTransform(keys, at, encFrom, encTo, authLen, tagAt, tagLen);
    this.raw.srtpProtect(
      keys.aesSlot, this.aesRounds[keys.aesSlot]!, keys.hmacSlot, keys.saltSlot, ssrc, Math.floor(index / 2 ** 32), index >>> 0,
      this.arenaAt + at, encFrom, encTo, authLen, roc, withRoc ? 1 : 0, tagAt, tagLen,
    );
  }

  /** Verifies the tag of the packet at arena offset `at`, in constant time. Clobbers [authLen, authLen+4). */
  srtpVerify(keys: SessionKeySlots, at: number, authLen: number, roc: number, withRoc: boolean, tagAt: number, tagLen: number): boolean {
    this.checkTransform(keys, at, 0, 0, authLen, tagAt, tagLen);
    return this.raw.srtpVerify(keys.hmacSlot, this.arenaAt + at, authLen, roc, withRoc ? 1 : 0, tagAt, tagLen) === 1;
  }

  /**
   * Four SRTP tags at once (4-lane HMAC-SHA1), each written `tagOffset` bytes after the lane's
   * authenticated portion (the MKI length). Encryption is done before, per packet.
   */
  srtpTagX4(a: SrtpLane, b: SrtpLane, c: SrtpLane, d: SrtpLane, withRoc: boolean, tagOffset: number, tagLen: number): void {
    this.checkLanes(a, b, c, d, tagOffset, tagLen);
    const r = this.arenaAt;
    this.raw.srtpTagX4(
      tagLen, withRoc ? 1 : 0,
      a.keys.hmacSlot, r + a.at, a.authLength, a.roc, a.authLength + tagOffset,
      b.keys.hmacSlot, r + b.at, b.authLength, b.roc, b.authLength + tagOffset,
      c.keys.hmacSlot, r + c.at, c.authLength, c.roc, c.authLength + tagOffset,
      d.keys.hmacSlot, r + d.at, d.authLength, d.roc, d.authLength + tagOffset,
    );
  }

  /** Verifies four tags at once; bit k of the result is set when lane k verifies. */
  srtpVerifyX4(a: SrtpLane, b: SrtpLane, c: SrtpLane, d: SrtpLane, withRoc: boolean, tagOffset: number, tagLen: number): number {
    this.checkLanes(a, b, c, d, tagOffset, tagLen);
    const r = this.arenaAt;
    return this.raw.srtpVerifyX4(
      tagLen, withRoc ? 1 : 0,
      a.keys.hmacSlot, r + a.at, a.authLength, a.roc, a.authLength + tagOffset,
      b.keys.hmacSlot, r + b.at, b.authLength, b.roc, b.authLength + tagOffset,
      c.keys.hmacSlot, r + c.at, c.authLength, c.roc, c.authLength + tagOffset,
      d.keys.hmacSlot, r + d.at, d.authLength, d.roc, d.authLength + tagOffset,
    );
  }

  /** Zeroes the core's static scratch (digests, IVs, message tails), e.g. when a context closes. */
  wipeScratch(): void {
    this.raw.wipeScratch();
  }

  /** XORs the AES-CM keystream of (session keys, ssrc, index) into arena bytes [at, at+len). */
  srtpXor(keys: SessionKeySlots, ssrc: number, index: number, at: number, len: number): void {
    const rounds = this.keyedAesSlot(keys.aesSlot);
    this.checkSlot(keys.saltSlot, this.saltSlots);
    this.checkArena(at, len);
    this.raw.srtpXor(keys.aesSlot, rounds, keys.saltSlot, ssrc, Math.floor(index / 2 ** 32), index >>> 0, this.arenaAt + at, len);
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

  // ---- MIKEY PRF and key derivations (RFC 3830 §4.1.2–§4.1.4; assembly/mikey.ts) -------------------

  /**
   * The MIKEY PRF (RFC 3830 §4.1.2): `outLen` bytes (1..256) of PRF(inkey, label). The inkey (any
   * non-zero length) is cut into 32-byte pieces, the last one possibly shorter. Labels up to 512 bytes.
   */
  mikeyPrf(inkey: Uint8Array, label: Uint8Array, outLen: number): Uint8Array {
    this.checkMikeyKey(inkey, "inkey");
    this.checkMikeyLabel(label.length);
    this.checkMikeyOut(outLen);
    return this.inScratch([inkey, label], [outLen], ([k, l], [o]) => {
      this.raw.mikeyPrf(k!, inkey.length, l!, label.length, o!, outLen);
    })[0]!;
  }

  /**
   * Two keys `PRF(inkey, c ‖ tail)` (RFC 3830 §4.1.3/§4.1.4) for constants c1 and c2 sharing the label
   * tail (cs_id ‖ CSB_ID ‖ RAND ‖ …): e.g. TEK and salt. Each inkey piece is keyed once for both.
   */
  mikeyDerivePair(inkey: Uint8Array, c1: number, c2: number, tail: Uint8Array, len1: number, len2: number): [Uint8Array, Uint8Array] {
    this.checkMikeyKey(inkey, "inkey");
    this.checkMikeyConsts(c1, c2);
    this.checkMikeyLabel(tail.length + 4);
    this.checkMikeyOut(len1);
    this.checkMikeyOut(len2);
    const [a, b] = this.inScratch([inkey, tail], [len1, len2], ([k, t], [o1, o2]) => {
      this.raw.mikeyDerivePair(k!, inkey.length, c1 >>> 0, c2 >>> 0, t!, tail.length, o1!, len1, o2!, len2);
    });
    return [a!, b!];
  }

  /**
   * Alternative 2 (docs/key-derivation.md §3): SK-TGK = PRF(tgk, skLabel) (`skLen` bytes, never leaves the core),
   * then `mikeyDerivePair(SK-TGK, c1, c2, tail, len1, len2)`.
   */
  mikeyDerivePairSk(
    tgk: Uint8Array, skLabel: Uint8Array, skLen: number, c1: number, c2: number, tail: Uint8Array, len1: number, len2: number,
  ): [Uint8Array, Uint8Array] {
    this.checkMikeyKey(tgk, "TGK");
    this.checkMikeyLabel(skLabel.length);
    this.checkMikeyOut(skLen);
    this.checkMikeyConsts(c1, c2);
    this.checkMikeyLabel(tail.length + 4);
    this.checkMikeyOut(len1);
    this.checkMikeyOut(len2);
    const [a, b] = this.inScratch([tgk, skLabel, tail], [len1, len2], ([k, s, t], [o1, o2]) => {
      this.raw.mikeyDerivePairSk(k!, tgk.length, s!, skLabel.length, skLen, c1 >>> 0, c2 >>> 0, t!, tail.length, o1!, len1, o2!, len2);
    });
    return [a!, b!];
  }

  private checkMikeyKey(key: Uint8Array, what: string): void {
    if (key.length === 0) throw new CoreError("ERR_KEY_LENGTH", `the MIKEY PRF needs a non-empty ${what}`);
  }

  private checkMikeyLabel(len: number): void {
    const max = this.raw.mikeyLabelMax();
    if (len > max) throw new CoreError("ERR_ARGUMENT", `MIKEY PRF labels are at most ${max} bytes, got ${len}`);
  }

  private checkMikeyOut(len: number): void {
    const max = this.raw.mikeyOutMax();
    if (!Number.isInteger(len) || len < 1 || len > max) throw new CoreError("ERR_ARGUMENT", `MIKEY PRF output is 1..${max} bytes`);
  }

  private checkMikeyConsts(...consts: number[]): void {
    for (const c of consts) {
      if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new CoreError("ERR_ARGUMENT", "MIKEY PRF constants are 32-bit");
    }
  }

  /**
   * Lays `inputs` then `outLens` output areas back to back in scratch, runs `call` with their absolute
   * offsets, copies the outputs out and zeroes everything it used (inputs hold keys, outputs keys too).
   */
  private inScratch(inputs: Uint8Array[], outLens: number[], call: (ins: number[], outs: number[]) => void): Uint8Array[] {
    const total = inputs.reduce((n, x) => n + x.length, 0) + outLens.reduce((n, x) => n + x, 0);
    if (total > this.scratchBytes) {
      throw new CoreError("ERR_KEY_LENGTH", `inputs and outputs need ${total} bytes, the core's scratch has ${this.scratchBytes}`);
    }
    let at = this.scratchAt;
    const place = (len: number) => { const p = at; at += len; return p; };
    try {
      const ins = inputs.map((x) => { const p = place(x.length); this.mem.set(x, p); return p; });
      const outs = outLens.map(place);
      call(ins, outs);
      return outs.map((p, i) => this.mem.slice(p, p + outLens[i]!));
    } finally {
      this.mem.fill(0, this.scratchAt, this.scratchAt + total);
    }
  }

  // ---- validation and plumbing -------------------------------------------------------------------

  private checkSlot(slot: number, count: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= count) {
      throw new CoreError("ERR_SLOT", `slot ${slot} is not in 0..${count - 1}`);
    }
  }

  private checkArena(at: number, len: number): void {
    if (!Number.isInteger(at) || !Number.isInteger(len) || at < 0 || len < 0 || at + len > this.arena.length) {
      throw new CoreError("ERR_RANGE", `[${at}, ${at}+${len}) is not inside the ${this.arena.length}-byte arena`);
    }
  }

  /** Checks that `slot` holds an AES key; returns its round count. */
  private keyedAesSlot(slot: number): number {
    this.checkSlot(slot, this.aesSlots);
    const rounds = this.aesRounds[slot]!;
    if (rounds === 0) throw new CoreError("ERR_NO_KEY", `AES slot ${slot} holds no key`);
    return rounds;
  }

  private checkKdfArgs(label: number, r: number): void {
    if (!Number.isInteger(label) || label < 0 || label > 255) throw new CoreError("ERR_ARGUMENT", "KDF labels are 0..255");
    if (!Number.isInteger(r) || r < 0 || r >= 2 ** 48) throw new CoreError("ERR_ARGUMENT", "KDF r is 48 bits");
  }

  private checkTransform(
    keys: SessionKeySlots, at: number, encFrom: number, encTo: number, authLen: number, tagAt: number, tagLen: number,
  ): void {
    this.keyedAesSlot(keys.aesSlot);
    this.checkSlot(keys.hmacSlot, this.hmacSlots);
    this.checkSlot(keys.saltSlot, this.saltSlots);
    if (!(encFrom >= 0 && encFrom <= encTo && encTo <= authLen && tagLen >= 0 && tagLen <= SHA1_BYTES && tagAt >= authLen)) {
      throw new CoreError("ERR_ARGUMENT", "inconsistent SRTP transform offsets");
    }
    this.checkArena(at, Math.max(authLen + 4, tagAt + tagLen));
  }

  private checkLanes(a: SrtpLane, b: SrtpLane, c: SrtpLane, d: SrtpLane, tagOffset: number, tagLen: number): void {
    this.checkTransform(a.keys, a.at, 0, 0, a.authLength, a.authLength + tagOffset, tagLen);
    this.checkTransform(b.keys, b.at, 0, 0, b.authLength, b.authLength + tagOffset, tagLen);
    this.checkTransform(c.keys, c.at, 0, 0, c.authLength, c.authLength + tagOffset, tagLen);
    this.checkTransform(d.keys, d.at, 0, 0, d.authLength, d.authLength + tagOffset, tagLen);
  }

  private checkOutput(out: Uint8Array, len: number): void {
    if (out.length < len) throw new CoreError("ERR_OUTPUT_SIZE", `output needs ${len} bytes, has ${out.length}`);
  }

  private putArena(data: Uint8Array, at: number): void {
    this.checkArena(at, data.length);
    this.arena.set(data, at);
  }

  /** Places `key` in scratch for the duration of `use`, then zeroes it. */
  private withScratchKey(key: Uint8Array, use: (at: number) => void): void {
    this.mem.set(key, this.scratchAt);
    try {
      use(this.scratchAt);
    } finally {
      this.mem.fill(0, this.scratchAt, this.scratchAt + key.length);
    }
  }

  /** Places four messages back to back in the arena; returns 4 × [at, len, outAt]. */
  private layoutLanes(messages: readonly Uint8Array[]): number[] {
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

  private laneDigests(lanes: number[]): Uint8Array[] {
    return [0, 1, 2, 3].map((i) => this.arena.slice(lanes[3 * i + 2]!, lanes[3 * i + 2]! + SHA1_BYTES));
  }

  private checkLaneCount(lanes: ArrayLike<number>, perLane: number): void {
    if (lanes.length !== LANES * perLane) {
      throw new CoreError("ERR_ARGUMENT", `expected ${LANES * perLane} lane values, got ${lanes.length}`);
    }
  }
}
