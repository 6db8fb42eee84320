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
  aesEncryptBlocks(slot: number, src: number, dst: number, blocks: number): void;
  aesCmXor(slot: number, iv: number, data: number, len: number): void;
  sha1(src: number, len: number, out: number): void;
  sha1x4(desc: number): void;
  hmacSetKey(slot: number, key: number, keyLen: number): void;
  hmacWipeKey(slot: number): void;
  hmacSha1(slot: number, src: number, len: number, out: number): void;
  hmacSha1x4(desc: number): void;
  ctEqual(a: number, b: number, len: number): number;
}
