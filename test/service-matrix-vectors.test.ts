// The service matrix's derivation vectors (test/vectors/mbms-service-matrix.json): one TEK and salt per
// cell (profile × TGK length × Alternative 1/2 × MKI layout), from the @noble/hashes reference, reproduced
// by the WASM derivation on both builds. MIKEY_WRITE_VECTORS=1 regenerates the JSON from the reference.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deriveSkTgk, deriveSrtpMasterKeys, tekFromSkTgk } from "../src/mbms/key-hierarchy.js";
import { loadCore } from "../src/wasm/index.js";
import { buildServiceMatrixVectors, fromHex, toHex } from "./helpers/mikey-reference.js";

const file = new URL("./vectors/mbms-service-matrix.json", import.meta.url);
if (process.env.MIKEY_WRITE_VECTORS) writeFileSync(file, JSON.stringify(buildServiceMatrixVectors(), null, 2) + "\n");
const published = JSON.parse(readFileSync(file, "utf8")) as ReturnType<typeof buildServiceMatrixVectors>;

describe("service matrix vectors", () => {
  it("are what the independent reference computes (32 cells)", () => {
    expect(published.cases).toHaveLength(32);
    expect(published).toEqual(JSON.parse(JSON.stringify(buildServiceMatrixVectors())));
  });

  for (const flavor of ["simd", "scalar"] as const) {
    it(`are reproduced by the WASM derivation (${flavor})`, () => {
      const core = loadCore({ flavor });
      for (const c of published.cases) {
        const keys = deriveSrtpMasterKeys(
          { tgk: fromHex(c.tgk), tgkId: c.tgkId, csbId: parseInt(c.csbId, 16), csId: c.csId, tekRand: fromHex(c.tekRand), mki: fromHex(c.mki) },
          { layout: c.layout, derivation: c.derivation, tekLength: c.tek.length / 2 as 16 | 32, core },
        );
        expect({ name: c.name, tek: toHex(keys.masterKey), salt: toHex(keys.masterSalt) }).toEqual({ name: c.name, tek: c.tek, salt: c.salt });
      }
    });

    it(`Alternative 2's cells are reproduced by the split too: SK-TGK (the card's half), then the TEK (the ME's) (${flavor})`, () => {
      const core = loadCore({ flavor });
      const alt2 = published.cases.filter((c) => c.derivation === "alt2");
      expect(alt2).toHaveLength(16);
      for (const c of alt2) {
        const csbId = parseInt(c.csbId, 16);
        const skTgk = deriveSkTgk({ tgk: fromHex(c.tgk), tgkId: c.tgkId, csbId, mki: fromHex(c.mki) }, { layout: c.layout, core });
        expect(skTgk.length).toBe(c.tgk.length / 2);
        const keys = tekFromSkTgk({ skTgk, csbId, csId: c.csId, tekRand: fromHex(c.tekRand) }, { tekLength: c.tek.length / 2 as 16 | 32, core });
        expect({ name: c.name, tek: toHex(keys.masterKey), salt: toHex(keys.masterSalt) }).toEqual({ name: c.name, tek: c.tek, salt: c.salt });
      }
    });
  }
});
