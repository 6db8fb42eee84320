// assembly/aes_ct.ts writes the S-box circuit once: a second, hand-doubled copy (the former aesBatch2,
// two batches interleaved) was a performance twin that had to be kept in step by a drift test, and it
// measured slower on Zen 4 than one batch after the other. This keeps the circuit from being copied again.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const source = readFileSync(join(import.meta.dirname, "..", "assembly", "aes_ct.ts"), "utf8");
const count = (needle: RegExp) => [...source.matchAll(needle)].length;

describe("assembly/aes_ct.ts", () => {
  it("has one copy of the S-box circuit (its first and last gates)", () => {
    expect(count(/\by14\w* = X<T>\(x3\w*, x5\w*\)/g)).toBe(1);
    expect(count(/\bt67\w* = X<T>\(t64\w*, t65\w*\)/g)).toBe(1);
  });

  it("has one batch kernel, which the exported entry points call", () => {
    expect(count(/function batch</g)).toBe(1);
    expect(count(/^export function aesBatch\w*<T>\([^)]*\): void \{\n  batch<T>\(/gm)).toBe(count(/^export function aesBatch/gm));
  });
});
