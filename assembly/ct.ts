// Constant-time comparison: the time depends only on `len`, never on where the bytes differ.
export function ctEqual(a: usize, b: usize, len: u32): u32 {
  let diff: u32 = 0;
  for (let i: usize = 0; i < <usize>len; i++) {
    diff |= <u32>load<u8>(a + i) ^ <u32>load<u8>(b + i);
  }
  // (diff - 1) >> 31 is 1 exactly when diff == 0 (diff < 256), with no branch.
  return (diff - 1) >>> 31;
}
