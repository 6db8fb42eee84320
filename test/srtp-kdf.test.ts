// The SRTP KDF (RFC 3711 §4.3) in the core: random labels, r and key sizes against the independent
// node:crypto implementation in reference/node-crypto-srtp.mjs, on both builds. The published KDF vectors
// (srtp.json) run with the others in test/vectors.test.ts.
import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { srtpKdf as referenceKdf } from "../reference/node-crypto-srtp.mjs";
import { loadCore } from "../src/index.js";
import { hex } from "./helpers/backends.js";

describe.each(["simd", "scalar"] as const)("%s build", (flavor) => {
  const core = loadCore({ flavor });
  const install = (key: Uint8Array, salt: Uint8Array) => {
    core.setAesKey(0, key);
    core.setSalt(0, salt);
  };

  it("random master keys (16/24/32), labels 0..5 and r < 2^48 match the reference", () => {
    for (let i = 0; i < 300; i++) {
      const key = randomBytes([16, 24, 32][i % 3]!);
      const salt = randomBytes(14);
      const label = randomInt(0, 6);
      const r = i % 2 ? randomInt(0, 2 ** 48 - 1) : randomInt(0, 2 ** 16);
      install(key, salt);
      expect(hex(core.srtpKdf(0, 0, label, r, 32))).toBe(hex(referenceKdf(key, salt, label, r, 32)));
    }
  });
});
