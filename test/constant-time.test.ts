// The constant-time check over the real cores: in both builds, no value loaded from memory (keys, data,
// states) reaches a branch, a select condition, a memory address or a variable-latency instruction in
// any exported function that touches secrets. The checker itself is tested in ct-check.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkConstantTime } from "../scripts/ct-check/taint.mjs";

const SECRET_HANDLING = [
  "aesSetKey", "aesWipeKey", "aesEncryptBlocks", "aesCmXor",
  "sha1", "sha1x4", "hmacSetKey", "hmacWipeKey", "hmacSha1", "hmacSha1x4", "ctEqual",
  "saltSet", "saltWipe", "srtpKdf", "srtpDeriveSessionKeys", "srtpXor", "srtpProtect", "srtpVerify",
  "srtpTagX4", "srtpVerifyX4", "wipeScratch", "mikeyPrf", "mikeyDerivePair", "mikeyDerivePairSk",
];

describe.each(["simd", "scalar"])("core.%s.wasm", (flavor) => {
  const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, "..", "build", `core.${flavor}.wasm`)));

  it.each(SECRET_HANDLING)("%s: no secret-dependent branch, address or latency", (fn) => {
    const [report] = checkConstantTime(bytes, [fn]);
    expect(report!.violations).toEqual([]);
  });
});
