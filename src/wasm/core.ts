import { CoreError } from "../errors.js";
import { AES_KEY_LENGTHS, PrimitiveCore, SHA1_BYTES, roundsFor } from "./primitive-core.js";

export { SHA1_BYTES } from "./primitive-core.js";
const SALT_BYTES = 14;
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

/**
 * One instance of the WASM crypto core, with its own memory and key slots: the primitives of
 * PrimitiveCore, plus the SRTP transforms (RFC 3711) and the MIKEY PRF and key derivations (RFC 3830).
 * Every argument is validated here, so the core itself never sees an out-of-range offset.
 */
export class CryptoCore extends PrimitiveCore {
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

  // ---- validation of SRTP calls ----------------------------------------------------------------

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
}
