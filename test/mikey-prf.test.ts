// MIKEY PRF (RFC 3830 §4.1.2) and the TGK → TEK derivations (§4.1.3, §4.1.4, docs/key-derivation.md §3) on both WASM
// builds, against an independent @noble/hashes reference and the values written out literally in
// docs/key-derivation.md §5; the published JSON vectors are the reference's. The library reproduces those
// vectors in test/vectors.test.ts (and in the browser). MIKEY_WRITE_VECTORS=1 regenerates the JSON from the reference.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkConstantTime } from "../scripts/ct-check/taint.mjs";
import { loadCore, type CryptoCore } from "../src/wasm/index.js";
import {
  MIKEY_CONST, deriveTekSalt, deriveTgkEncrAuth, deriveTransportKeys, labelTail, mikeyLabel, mikeyPrf,
} from "../src/mikey/prf.js";
import { buildMki, deriveSrtpMasterKeys, mkiLength, splitMki } from "../src/mbms/key-hierarchy.js";
import { MbmsError } from "../src/mbms/errors.js";
import {
  REF_CONST, buildPrfVectors, buildTekVectors, fromHex, minisipPieces, refAlt2, refLabel, refPrf, refTekSalt, seq, toHex,
} from "./helpers/mikey-reference.js";

const file = (name: string) => new URL(`./vectors/${name}`, import.meta.url);
if (process.env.MIKEY_WRITE_VECTORS) {
  writeFileSync(file("mikey-prf.json"), JSON.stringify(buildPrfVectors(), null, 2) + "\n");
  writeFileSync(file("mikey-tek.json"), JSON.stringify(buildTekVectors(), null, 2) + "\n");
}
const prfVectors = JSON.parse(readFileSync(file("mikey-prf.json"), "utf8")) as ReturnType<typeof buildPrfVectors>;
const tekVectors = JSON.parse(readFileSync(file("mikey-tek.json"), "utf8")) as ReturnType<typeof buildTekVectors>;

// docs/key-derivation.md §5, copied literally (inputs: PSK 00..0f, TGK 10..1f, RAND 20..2f, CSB ID 12345678, cs_id 01).
const S213 = {
  tgk: seq(0x10, 16), psk: seq(0x00, 16), rand: seq(0x20, 16), csbId: 0x12345678, csId: 1,
  tekLabel: "2ad01c640112345678202122232425262728292a2b2c2d2e2f",
  tek16: "c66515e32b19e756a9b1f0b36fcb79cb",
  tek32: "c66515e32b19e756a9b1f0b36fcb79cbeab6181a3812d53731e36feaf87cbdba",
  salt: "ed95ffb02fbdd72a70c7b71ad61b",
  encr: "a8814505eedc99df7e54aa9135472517",
  auth: "e005095aaf91cc9684c1b6c248f908650ce4feb9",
  pskEncr: "4f0f9a1d55a4b2a9bcc067920f623e4f",
  pskAuth: "97569f471c508d963847a6fada69781f38067547",
  pskSalt: "34c4e33226c67f9cbacf2d79df2d",
  tgk32Tek: "f9d4c32e7bd36c194d6a4c7cae81a79b", tgk32Minisip: "cdcb29725aa2f4581108a986d94be136",
  tgk40Tek: "3a346c73a54d44d06bf2db46bcad6554",
};

// A seeded generator (mulberry32): reproducible random cases.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const randomCase = (next: () => number) => {
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(0, 255));
  return { int, bytes };
};

describe("reference (@noble/hashes)", () => {
  it("reproduces docs/key-derivation.md §5 literally", () => {
    const { tgk, psk, rand, csbId, csId } = S213;
    expect(toHex(refLabel(REF_CONST.tek, csId, csbId, rand))).toBe(S213.tekLabel);
    expect(toHex(refTekSalt(tgk, csId, csbId, rand, 16).tek)).toBe(S213.tek16);
    expect(toHex(refTekSalt(tgk, csId, csbId, rand, 32).tek)).toBe(S213.tek32);
    expect(toHex(refTekSalt(tgk, csId, csbId, rand, 16).salt)).toBe(S213.salt);
    expect(toHex(refPrf(tgk, refLabel(REF_CONST.encr, csId, csbId, rand), 16))).toBe(S213.encr);
    expect(toHex(refPrf(tgk, refLabel(REF_CONST.auth, csId, csbId, rand), 20))).toBe(S213.auth);
    expect(toHex(refPrf(psk, refLabel(REF_CONST.pskEncr, 0xff, csbId, rand), 16))).toBe(S213.pskEncr);
    expect(toHex(refPrf(psk, refLabel(REF_CONST.pskAuth, 0xff, csbId, rand), 20))).toBe(S213.pskAuth);
    expect(toHex(refPrf(psk, refLabel(REF_CONST.pskSalt, 0xff, csbId, rand), 14))).toBe(S213.pskSalt);
    expect(toHex(refTekSalt(seq(0x40, 32), csId, csbId, rand, 16).tek)).toBe(S213.tgk32Tek);
    expect(toHex(refTekSalt(seq(0x40, 40), csId, csbId, rand, 16).tek)).toBe(S213.tgk40Tek);
  });

  it("the minisip trap (last piece len % 32): differs for 32- and 64-byte inkeys, agrees for 16 and 40", () => {
    const label = refLabel(REF_CONST.tek, S213.csId, S213.csbId, S213.rand);
    expect(toHex(refPrf(seq(0x40, 32), label, 16, minisipPieces))).toBe(S213.tgk32Minisip);
    for (const n of [32, 64]) expect(toHex(refPrf(seq(0x40, n), label, 16, minisipPieces))).not.toBe(toHex(refPrf(seq(0x40, n), label, 16)));
    for (const n of [16, 40]) expect(toHex(refPrf(seq(0x40, n), label, 16, minisipPieces))).toBe(toHex(refPrf(seq(0x40, n), label, 16)));
  });

  it("the published JSON is what the reference computes", () => {
    expect(prfVectors).toEqual(JSON.parse(JSON.stringify(buildPrfVectors())));
    expect(tekVectors).toEqual(JSON.parse(JSON.stringify(buildTekVectors())));
    // The sealed extension's key is not encr_key: no keystream shared with the KEMAC.
    expect(tekVectors.psk.ext16).not.toBe(tekVectors.psk.encr16);
  });

  it("our constants are e's 8th and 9th 9-digit runs (Alt 2, sealed extension) and collide with no RFC 3830 constant", () => {
    const e = "718281828459045235360287471352662497757247093699959574966967627724076630353547594"; // e = 2.<these>…
    const runs = Array.from({ length: 9 }, (_, i) => Number(e.slice(9 * i, 9 * i + 9)));
    const rfc = [MIKEY_CONST.TEK, MIKEY_CONST.AUTH, MIKEY_CONST.ENCR, MIKEY_CONST.PSK_ENCR, MIKEY_CONST.PSK_AUTH, MIKEY_CONST.PSK_SALT, MIKEY_CONST.SALT];
    expect(runs.slice(0, 7)).toEqual(rfc);
    expect(runs[7]).toBe(MIKEY_CONST.SK_TGK);
    expect(runs[8]).toBe(MIKEY_CONST.EXT);
    expect(REF_CONST.ext).toBe(MIKEY_CONST.EXT);
    expect(rfc).not.toContain(MIKEY_CONST.SK_TGK);
    expect([...rfc, MIKEY_CONST.SK_TGK]).not.toContain(MIKEY_CONST.EXT);
  });
});

describe.each(["simd", "scalar"] as const)("WASM %s build", (flavor) => {
  const core: CryptoCore = loadCore({ flavor });
  const tail = labelTail(S213.csId, S213.csbId, S213.rand);

  it("reproduces docs/key-derivation.md §5 literally", () => {
    const { tek, salt } = deriveTekSalt(S213.tgk, { csId: S213.csId, csbId: S213.csbId, rand: S213.rand }, core);
    expect([toHex(tek), toHex(salt)]).toEqual([S213.tek16, S213.salt]);
    expect(toHex(deriveTekSalt(S213.tgk, { csId: 1, csbId: S213.csbId, rand: S213.rand, tekLength: 32 }, core).tek)).toBe(S213.tek32);
    expect(toHex(mikeyPrf(S213.tgk, fromHex(S213.tekLabel), 16, core))).toBe(S213.tek16);
    const { encrKey, authKey } = deriveTgkEncrAuth(S213.tgk, 1, S213.csbId, S213.rand, 16, 20, core);
    expect([toHex(encrKey), toHex(authKey)]).toEqual([S213.encr, S213.auth]);
    const t = deriveTransportKeys(S213.psk, S213.csbId, S213.rand, {}, core);
    expect([toHex(t.encrKey), toHex(t.authKey), toHex(t.saltKey)]).toEqual([S213.pskEncr, S213.pskAuth, S213.pskSalt]);
    expect(toHex(mikeyPrf(seq(0x40, 32), mikeyLabel(MIKEY_CONST.TEK, tail), 16, core))).toBe(S213.tgk32Tek);
    expect(toHex(mikeyPrf(seq(0x40, 40), mikeyLabel(MIKEY_CONST.TEK, tail), 16, core))).toBe(S213.tgk40Tek);
  });

  it("agrees with the reference on random inputs (inkey 1..100, label 1..80, out 1..64)", () => {
    const { int, bytes } = randomCase(rng(flavor === "simd" ? 1 : 2));
    for (let i = 0; i < 300; i++) {
      const inkey = bytes(int(1, 100)), label = bytes(int(1, 80)), outLen = int(1, 64);
      expect(toHex(core.mikeyPrf(inkey, label, outLen)), `${toHex(inkey)} ${toHex(label)} ${outLen}`).toBe(toHex(refPrf(inkey, label, outLen)));
    }
    for (let i = 0; i < 60; i++) {
      const tgk = bytes(int(1, 100)), t = bytes(int(5, 80)), c1 = int(0, 2 ** 32 - 1), c2 = int(0, 2 ** 32 - 1);
      const l1 = int(1, 64), l2 = int(1, 64), skLabel = bytes(int(1, 80)), skLen = int(1, 64);
      const ref = (k: Uint8Array) => [refPrf(k, mikeyLabel(c1, t), l1), refPrf(k, mikeyLabel(c2, t), l2)].map(toHex);
      expect(core.mikeyDerivePair(tgk, c1, c2, t, l1, l2).map(toHex)).toEqual(ref(tgk));
      expect(core.mikeyDerivePairSk(tgk, skLabel, skLen, c1, c2, t, l1, l2).map(toHex)).toEqual(ref(refPrf(tgk, skLabel, skLen)));
    }
  });

  it("leaves no key-derived byte behind: memory is exactly as before", () => {
    const fresh = loadCore({ flavor });
    const mem = () => new Uint8Array(fresh.arena.buffer).slice();
    const before = mem();
    fresh.mikeyPrf(seq(0x40, 100), seq(0x80, 80), 64);
    fresh.mikeyDerivePairSk(seq(0x40, 40), seq(0x80, 60), 40, MIKEY_CONST.TEK, MIKEY_CONST.SALT, seq(0x90, 41), 32, 14);
    expect(Buffer.compare(mem(), before)).toBe(0); // (toEqual on 1.5 MB is slow)
  });

  it("validates its arguments", () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as { code: string }).code; } return "none"; };
    expect(code(() => core.mikeyPrf(new Uint8Array(0), tail, 16))).toBe("ERR_KEY_LENGTH");
    expect(code(() => core.mikeyPrf(S213.tgk, tail, 0))).toBe("ERR_ARGUMENT");
    expect(code(() => core.mikeyPrf(S213.tgk, tail, 257))).toBe("ERR_ARGUMENT");
    expect(code(() => core.mikeyPrf(S213.tgk, new Uint8Array(513), 16))).toBe("ERR_ARGUMENT");
    expect(code(() => core.mikeyDerivePair(S213.tgk, 2 ** 32, 0, tail, 16, 14))).toBe("ERR_ARGUMENT");
    expect(code(() => core.mikeyDerivePair(S213.tgk, 0, 0, new Uint8Array(509), 16, 14))).toBe("ERR_ARGUMENT");
    expect(code(() => core.mikeyPrf(new Uint8Array(4000), tail, 200))).toBe("ERR_KEY_LENGTH");
  });
});

describe("MBMS key hierarchy", () => {
  const tgk = S213.tgk;
  const base = { tgk, tgkId: 7, csbId: S213.csbId, csId: 1, tekRand: S213.rand };

  it("builds and splits MKIs (TGK-ID big-endian ‖ random part)", () => {
    expect(toHex(buildMki(0x01020304, seq(0xa0, 8)))).toBe("01020304a0a1a2a3a4a5a6a7");
    expect(toHex(buildMki(0xabcd, seq(0xa0, 12), { tgkIdBytes: 2, randBytes: 12 }))).toBe("abcd" + toHex(seq(0xa0, 12)));
    expect(splitMki(fromHex("ffffffff" + "00".repeat(16)), { randBytes: 16 })).toEqual({ tgkId: 0xffffffff, rand: new Uint8Array(16) });
    expect(mkiLength()).toBe(12);
  });

  it("Alt 1 with the default layout is the standard derivation with TEK_RAND2 appended", () => {
    const rand2 = seq(0xa0, 8);
    const keys = deriveSrtpMasterKeys({ ...base, mki: buildMki(7, rand2) });
    const ref = refTekSalt(tgk, 1, S213.csbId, S213.rand, 16, 14, rand2);
    expect([keys.masterKey, keys.masterSalt].map(toHex)).toEqual([ref.tek, ref.salt].map(toHex));
    const ref2 = refAlt2(tgk, 1, S213.csbId, rand2, S213.rand, 32);
    const keys2 = deriveSrtpMasterKeys({ ...base, mki: buildMki(7, rand2) }, { derivation: "alt2", tekLength: 32 });
    expect([keys2.masterKey, keys2.masterSalt].map(toHex)).toEqual([ref2.tek, ref2.salt].map(toHex));
  });

  it("raises typed errors without key bytes in the message", () => {
    const err = (f: () => unknown) => { try { f(); } catch (e) { return e as MbmsError; } throw new Error("no error"); };
    const cases: [() => unknown, string][] = [
      [() => buildMki(7, seq(0, 8), { tgkIdBytes: 5 }), "ERR_MKI_LAYOUT"],
      [() => buildMki(7, seq(0, 7)), "ERR_MKI_LAYOUT"],
      [() => buildMki(256, seq(0, 8), { tgkIdBytes: 1 }), "ERR_TGK_ID"],
      [() => splitMki(seq(0, 13)), "ERR_MKI_LAYOUT"],
      [() => deriveSrtpMasterKeys({ ...base, mki: buildMki(8, seq(0, 8)) }), "ERR_TGK_ID"],
      [() => deriveSrtpMasterKeys({ ...base, tgk: new Uint8Array(0), mki: buildMki(7, seq(0, 8)) }), "ERR_KEY_LENGTH"],
      [() => deriveSrtpMasterKeys({ ...base, mki: buildMki(7, seq(0, 8)) }, { tekLength: 24 as 16 }), "ERR_KEY_LENGTH"],
      [() => deriveSrtpMasterKeys({ ...base, mki: buildMki(7, seq(0, 8)) }, { derivation: "alt3" as "alt1" }), "ERR_ARGUMENT"],
    ];
    for (const [f, code] of cases) {
      const e = err(f);
      expect(e).toBeInstanceOf(MbmsError);
      expect(e.code).toBe(code);
      expect(e.message).not.toContain(toHex(tgk).slice(0, 8));
    }
  });
});

describe.each(["simd", "scalar"])("constant time: core.%s.wasm (scripts/ct-check)", (flavor) => {
  const bytes = new Uint8Array(readFileSync(new URL(`../build/core.${flavor}.wasm`, import.meta.url)));
  it.each(["mikeyPrf", "mikeyDerivePair", "mikeyDerivePairSk"])("%s: no secret-dependent branch, address or latency", (fn) => {
    expect(checkConstantTime(bytes, [fn])[0]!.violations).toEqual([]);
  });
});
