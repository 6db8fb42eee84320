/** The raw exports of the WASM core (see assembly/ABI.md). Offsets are byte offsets into its memory. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  simd(): number;
  aesSlots(): number;
  hmacSlots(): number;
  scratchOffset(): number;
  scratchBytes(): number;
  arenaOffset(): number;
  arenaBytes(): number;
  memoryEnd(): number;
  aesSetKey(slot: number, key: number, keyLen: number): void;
  aesWipeKey(slot: number): void;
  aesEncryptBlocks(slot: number, rounds: number, src: number, dst: number, blocks: number): void;
  aesCmXor(slot: number, rounds: number, iv: number, data: number, len: number): void;
  sha1(src: number, len: number, out: number): void;
  /** 4 × (src, len, out). */
  sha1x4(...lanes: number[]): void;
  hmacSetKey(slot: number, key: number, keyLen: number): void;
  hmacWipeKey(slot: number): void;
  hmacSha1(slot: number, src: number, len: number, out: number): void;
  /** 4 × (slot, src, len, out). */
  hmacSha1x4(...lanes: number[]): void;
  ctEqual(a: number, b: number, len: number): number;
  saltSlots(): number;
  saltSet(slot: number, src: number): void;
  saltWipe(slot: number): void;
  srtpKdf(masterSlot: number, masterRounds: number, masterSalt: number, label: number, rHi: number, rLo: number, out: number, len: number): void;
  srtpDeriveSessionKeys(
    masterSlot: number, masterSalt: number, labelBase: number, rHi: number, rLo: number, keyLen: number,
    aesSlot: number, hmacSlot: number, saltOut: number,
  ): void;
  srtpXor(aesSlot: number, rounds: number, salt: number, ssrc: number, indexHi: number, indexLo: number, data: number, len: number): void;
  srtpProtect(
    aesSlot: number, rounds: number, hmacSlot: number, salt: number, ssrc: number, indexHi: number, indexLo: number,
    pkt: number, encFrom: number, encTo: number, authLen: number, roc: number, withRoc: number, tagAt: number, tagLen: number,
  ): void;
  srtpVerify(hmacSlot: number, pkt: number, authLen: number, roc: number, withRoc: number, tagAt: number, tagLen: number): number;
  /** Lanes: 4 × (hmacSlot, pkt, authLen, roc, tagAt). */
  srtpTagX4(tagLen: number, withRoc: number, ...lanes: number[]): void;
  /** Lanes: 4 × (hmacSlot, pkt, authLen, roc, tagAt); returns the mask of lanes that verified. */
  srtpVerifyX4(tagLen: number, withRoc: number, ...lanes: number[]): number;
  wipeScratch(): void;
  /** MIKEY PRF, RFC 3830 §4.1.2 (assembly/mikey.ts). */
  mikeyPrf(inkey: number, inkeyLen: number, label: number, labelLen: number, out: number, outLen: number): void;
  mikeyDerivePair(
    inkey: number, inkeyLen: number, c1: number, c2: number, tail: number, tailLen: number,
    out1: number, len1: number, out2: number, len2: number,
  ): void;
  mikeyDerivePairSk(
    tgk: number, tgkLen: number, skLabel: number, skLabelLen: number, skLen: number,
    c1: number, c2: number, tail: number, tailLen: number, out1: number, len1: number, out2: number, len2: number,
  ): void;
  mikeyLabelMax(): number;
  mikeyOutMax(): number;
}
