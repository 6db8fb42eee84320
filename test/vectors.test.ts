// Every published vector (test/vectors/*.json) on both WASM builds, through the suites the browser Worker
// runs too (test/vectors/run-vectors.ts; test/browser/vectors.test.ts): one test per vector. The kernel
// vectors also run on the independent reference (node:crypto + @noble/hashes), which only Node has.
import { describe, expect, it } from "vitest";
import { referenceBackend } from "./helpers/backends.js";
import { FLAVORS, nodeVectorResults } from "./helpers/node-vectors.js";
import { kernelVectors } from "./vectors/kernel-suite.js";
import { published } from "./vectors/published.js";
import { vectorId } from "./vectors/run-vectors.js";

describe.each(FLAVORS)("WASM %s build", (flavor) => {
  const results = nodeVectorResults(flavor);

  it.each(results)("$suite: $name", (r) => {
    expect(r.got).toEqual(r.want);
  });

  it("names each vector once (a failure names one vector; the browser's run is compared by name)", () => {
    const ids = results.map(vectorId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });
});

describe(referenceBackend.name, () => {
  it.each(kernelVectors(referenceBackend, published.kernels))("$suite: $name", (r) => {
    expect(r.got).toEqual(r.want);
  });
});
