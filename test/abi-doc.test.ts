// The core's ABI three ways: what the compiled instances export (both builds), what the host's typed view
// declares (src/wasm/abi.ts, CoreExports) and what assembly/ABI.md documents. Names and parameter lists
// must agree, so that neither the types nor the document drift from the WASM (issue 14 found both had).
import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { decodeBase64 } from "../src/wasm/base64.js";
import { scalarCoreBase64, simdCoreBase64 } from "../src/wasm/bytes.generated.js";

const root = new URL("../", import.meta.url);

/** "4 × (a, b)" → [a, b, a, b, a, b, a, b]; other items as they are. */
function expandLanes(items: string[]): string[] {
  return items.flatMap((item) => {
    const lanes = /^(\d+) × \((.*)\)$/.exec(item);
    return lanes ? Array.from({ length: Number(lanes[1]) }, () => lanes[2]!.split(/,\s*/)).flat() : [item];
  });
}

/** Parameter names per function of CoreExports; a rest parameter is spelled out by its JSDoc "n × (…)". */
function typedAbi(): Map<string, string[]> {
  const path = new URL("src/wasm/abi.ts", root);
  const file = ts.createSourceFile("abi.ts", readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  const out = new Map<string, string[]>();
  file.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== "CoreExports") return;
    for (const member of node.members) {
      if (!ts.isMethodSignature(member)) continue;
      const doc = member.getFullText().match(/\d+ × \([^)]*\)/)?.[0];
      const names = member.parameters.map((p) => (p.dotDotDotToken ? doc ?? "?rest" : p.name.getText()));
      out.set(member.name.getText(), expandLanes(names));
    }
  });
  return out;
}

/** Parameter names per function in the table of assembly/ABI.md: `name(a, b, 4 × (c, d))`. */
function documentedAbi(): Map<string, string[]> {
  const doc = readFileSync(new URL("assembly/ABI.md", root), "utf8");
  const out = new Map<string, string[]>();
  for (const call of doc.matchAll(/`(\w+)\(((?:[^()`]|\([^()`]*\))*)\)`/g)) {
    const params = call[2]!.trim() === "" ? [] : call[2]!.split(/,\s*(?![^(]*\))/);
    out.set(call[1]!, expandLanes(params));
  }
  return out;
}

function instanceExports(base64: string): Map<string, number> {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(base64) as BufferSource), {});
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(instance.exports)) {
    if (typeof value === "function") out.set(name, value.length);
  }
  return out;
}

describe("the core ABI", () => {
  const typed = typedAbi();
  const documented = documentedAbi();

  it("declares every function in the document and the document every declared one, with the same parameters", () => {
    expect([...documented.keys()].sort()).toEqual([...typed.keys()].sort());
    for (const [name, params] of typed) expect({ name, params: documented.get(name) }).toEqual({ name, params });
  });

  for (const [flavor, base64] of [["simd", simdCoreBase64], ["scalar", scalarCoreBase64]] as const) {
    it(`matches what the ${flavor} build exports, arity included`, () => {
      const exported = instanceExports(base64);
      expect([...exported.keys()].sort()).toEqual([...typed.keys()].sort());
      for (const [name, params] of typed) expect({ name, arity: exported.get(name) }).toEqual({ name, arity: params.length });
    });
  }
});
