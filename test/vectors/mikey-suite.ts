// test/vectors/mikey-prf.json and mikey-tek.json: the MIKEY PRF (RFC 3830 §4.1.2) on the core, the TEK,
// salt and PSK transport keys (§4.1.3, §4.1.4), and the key hierarchy's Alternatives 1 and 2
// (docs/key-derivation.md §3) from TGK and MKI to SRTP master key and salt.
import { hex, unhex } from "./hex.js";
import type { CryptoCore, VectorLibrary } from "./library.js";
import type { PublishedVectors } from "./published.js";
import { check, type VectorResult } from "./result.js";

export function mikeyPrfVectors(core: CryptoCore, vectors: PublishedVectors["mikeyPrf"]): VectorResult[] {
  return vectors.cases.map((v) => check("mikey-prf", v.name, v.out, () => hex(core.mikeyPrf(unhex(v.inkey), unhex(v.label), v.outLen))));
}

export function mikeyTekVectors(lib: VectorLibrary, core: CryptoCore, vectors: PublishedVectors["mikeyTek"]): VectorResult[] {
  const suite = "mikey-tek";
  const { TEK, SALT, ENCR, AUTH } = lib.MIKEY_CONST;
  const psk = vectors.psk;
  return [
    ...vectors.standard.map((v) => {
      const { tek16, tek32, salt14, encr16, auth20 } = v;
      return check(suite, `TEK vector: ${v.name}`, { tek16, salt14, tek32, encr16, auth20 }, () => {
        const k = unhex(v.tgk), t = lib.labelTail(v.csId, parseInt(v.csbId, 16), unhex(v.rand));
        const [tek, salt] = core.mikeyDerivePair(k, TEK, SALT, t, 16, 14).map(hex);
        const [encr, auth] = core.mikeyDerivePair(k, ENCR, AUTH, t, 16, 20).map(hex);
        return { tek16: tek, salt14: salt, tek32: hex(core.mikeyDerivePair(k, TEK, SALT, t, 32, 14)[0]!), encr16: encr, auth20: auth };
      });
    }),
    check(suite, `PSK transport vector: ${psk.name}`, { encr16: psk.encr16, auth20: psk.auth20, salt14: psk.salt14, ext16: psk.ext16 }, () => {
      const key = unhex(psk.psk), csbId = parseInt(psk.csbId, 16), rand = unhex(psk.rand);
      const t = lib.deriveTransportKeys(key, csbId, rand, {}, core);
      return { encr16: hex(t.encrKey), auth20: hex(t.authKey), salt14: hex(t.saltKey), ext16: hex(lib.deriveExtensionKey(key, csbId, rand, core)) };
    }),
    ...[...vectors.alt1, ...vectors.alt2].map((v) => check(suite, `key hierarchy: ${v.name}`, { tek: v.tek, salt: v.salt }, () => {
      const alt2 = "tgkRand" in v;
      const rand = unhex(alt2 ? v.tgkRand : v.tekRand2);
      const tgkId = 0x01020304;
      const mki = lib.buildMki(tgkId, rand, { randBytes: rand.length });
      const keys = lib.deriveSrtpMasterKeys(
        { tgk: unhex(v.tgk), tgkId, csbId: parseInt(v.csbId, 16), csId: v.csId, tekRand: unhex(v.tekRand), mki },
        { core, derivation: alt2 ? "alt2" : "alt1", tekLength: v.tek.length / 2 as 16 | 32, layout: { randBytes: rand.length } },
      );
      return { tek: hex(keys.masterKey), salt: hex(keys.masterSalt) };
    })),
  ];
}
