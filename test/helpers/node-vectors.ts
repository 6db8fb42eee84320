// The vector suites as Node runs them: on src/, on each WASM build. test/vectors.test.ts asserts each
// result; test/browser/vectors.test.ts compares the browser's run against the same list.
import * as lib from "../../src/index.js";
import { published } from "../vectors/published.js";
import { runVectors, type VectorResult } from "../vectors/run-vectors.js";

export const FLAVORS = ["simd", "scalar"] as const;

export function nodeVectorResults(flavor: (typeof FLAVORS)[number]): VectorResult[] {
  return runVectors(lib, lib.loadCore({ flavor }), published);
}
