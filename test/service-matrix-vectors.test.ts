// The service matrix's derivation vectors (test/vectors/mbms-service-matrix.json): one TEK and salt per
// cell (profile × TGK length × Alternative 1/2 × MKI layout) are what the @noble/hashes reference computes.
// The library reproduces them (derivation, Alternative 2 split, receiver) in test/vectors.test.ts and in
// the browser. MIKEY_WRITE_VECTORS=1 regenerates the JSON from the reference.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildServiceMatrixVectors } from "./helpers/mikey-reference.js";

const file = new URL("./vectors/mbms-service-matrix.json", import.meta.url);
if (process.env.MIKEY_WRITE_VECTORS) writeFileSync(file, JSON.stringify(buildServiceMatrixVectors(), null, 2) + "\n");
const published = JSON.parse(readFileSync(file, "utf8")) as ReturnType<typeof buildServiceMatrixVectors>;

describe("service matrix vectors", () => {
  it("are what the independent reference computes (32 cells)", () => {
    expect(published.cases).toHaveLength(32);
    expect(published).toEqual(JSON.parse(JSON.stringify(buildServiceMatrixVectors())));
  });

});
