// Self-tests of the constant-time checker (scripts/ct-check): it must flag every leak in the leaky
// fixture with the right kind, pass every function of the clean fixture, and fail closed on IR it
// does not model. The fixtures are compiled here with the asc CLI, as the core is (-O3, SIMD on).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import binaryen from "binaryen";
import { afterAll, describe, expect, it } from "vitest";
import { checkConstantTime } from "../scripts/ct-check/taint.mjs";

const root = join(import.meta.dirname, "..");
const fixtures = join(root, "scripts", "ct-check", "fixtures");
const work = mkdtempSync(join(tmpdir(), "ct-check-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const compiled = new Map<string, Uint8Array>();
function compile(source: string, simd = true): Uint8Array {
  const out = join(work, `${source.replace(/\W/g, "_")}-${simd ? "simd" : "scalar"}.wasm`);
  if (compiled.has(out)) return compiled.get(out)!;
  execFileSync(process.execPath, [
    join(root, "node_modules", "assemblyscript", "bin", "asc.js"), source,
    "--config", join(fixtures, "asconfig.json"), // an empty config: keeps asc off the core's asconfig.json
    "--runtime", "stub", "-O3", "--noAssert", simd ? "--enable" : "--disable", "simd", "-o", out,
  ], { cwd: root, stdio: "pipe" });
  compiled.set(out, new Uint8Array(readFileSync(out)));
  return compiled.get(out)!;
}

// fn -> sorted list of violation kinds
function kinds(bytes: Uint8Array, names: string[]): Record<string, string[]> {
  return Object.fromEntries(checkConstantTime(bytes, names).map((r) => [r.fn, r.violations.map((v) => v.kind).sort()]));
}

describe("ct-check", () => {
  it("flags every leak in the leaky fixture, with its kind", () => {
    const expected = {
      sboxLookup: ["address"],
      pointerChase: ["address"],
      branchOnByte: ["branch"],
      selectOnData: ["branch"],
      secretTripCount: ["branch"],
      callLeaky: ["call"],
      callLeakyInlined: ["branch"],
      secretDivide: ["variable-latency"],
      stashSecret: [],
      useStash: ["address"],
    };
    expect(kinds(compile(join(fixtures, "leaky.ts")), Object.keys(expected))).toEqual(expected);
  });

  it("really exercises a call: callLeaky keeps its helper out of line at -O3", () => {
    const [r] = checkConstantTime(compile(join(fixtures, "leaky.ts")), ["callLeaky"]);
    expect(r!.violations[0]!.where).toMatch(/call .* with secret arg\(s\) 0 → .*secret if condition/);
  });

  for (const simd of [true, false]) {
    it(`passes every function of the clean fixture (${simd ? "SIMD enabled" : "scalar"})`, () => {
      const names = ["xorInto", "andInto", "ctEq", "maskSelect", "scanTable", "callClean"];
      expect(checkConstantTime(compile(join(fixtures, "clean.ts"), simd), names)).toEqual(names.map((fn) => ({ fn, violations: [] })));
    });
  }

  it("passes v128 code on secret data", () => {
    expect(checkConstantTime(compile(join(fixtures, "clean-simd.ts")), ["simdMix"])).toEqual([{ fn: "simdMix", violations: [] }]);
  });

  it("passes the core's own ctEqual (assembly/ct.ts)", () => {
    expect(checkConstantTime(compile(join(root, "assembly", "ct.ts")), ["ctEqual"])[0]!.violations).toEqual([]);
  });

  it("fails closed: unknown names and unmodelled IR (call_indirect) are violations", () => {
    const m = new binaryen.Module();
    m.setFeatures(binaryen.Features.All);
    m.addFunction("id", binaryen.i32, binaryen.i32, [], m.local.get(0, binaryen.i32));
    m.addTable("t", 1, 1);
    m.addActiveElementSegment("t", "e", ["id"], m.i32.const(0));
    m.addFunction("indirect", binaryen.i32, binaryen.i32, [],
      m.call_indirect("t", m.i32.const(0), [m.local.get(0, binaryen.i32)], binaryen.i32, binaryen.i32));
    m.addFunctionExport("indirect", "indirect");
    const bytes = m.emitBinary();
    m.dispose();
    expect(kinds(bytes, ["indirect", "nope"])).toEqual({ indirect: ["unknown"], nope: ["unknown"] });
  });
});
