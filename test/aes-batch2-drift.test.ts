// aesBatch2 (assembly/aes_ct.ts) is aesBatch with every statement doubled for a second, interleaved batch
// (names suffixed _b): a deliberate performance twin. This check keeps the two from drifting apart:
// every statement of aesBatch2, with the _b suffixes removed, is a statement of aesBatch, and every
// statement of aesBatch's cipher path appears in aesBatch2, in both copies.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const source = readFileSync(join(import.meta.dirname, "..", "assembly", "aes_ct.ts"), "utf8");

function body(name: string): string[] {
  const start = source.indexOf(`export function ${name}<T>(`);
  let depth = 0, i = source.indexOf("{", start);
  const from = i;
  for (; i < source.length; i++) {
    if (source[i] === "{") depth++;
    else if (source[i] === "}" && --depth === 0) break;
  }
  return source.slice(from + 1, i)
    .split("\n").map((l) => l.replace(/\/\/.*$/, "").trim()).filter((l) => l.length > 0)
    .flatMap((l) => l.split(/(?<=;)\s+/));
}

describe("aesBatch2 stays the doubling of aesBatch", () => {
  const single = body("aesBatch");
  const double = body("aesBatch2");
  const statements = (lines: string[]) => new Set(lines.filter((l) => l.endsWith(";") && /=/.test(l)));

  it("every statement of aesBatch2, without its _b suffixes, is one of aesBatch", () => {
    const known = statements(single);
    const strays = [...statements(double)].map((l) => l.replace(/\b(\w+)_b\b/g, "$1")).filter((l) => !known.has(l));
    expect(strays).toEqual([]);
  });

  it("every assignment of aesBatch's cipher path appears in aesBatch2 twice (plain and _b)", () => {
    const twice = statements(double);
    const renamed = new Set([...twice].map((l) => l.replace(/\b(\w+)_b\b/g, "$1")));
    const missing = [...statements(single)].filter((l) => !l.includes("store<T>(out") && !renamed.has(l));
    expect(missing).toEqual([]);
    expect(double.length).toBeGreaterThan(1.6 * single.length);
  });
});
