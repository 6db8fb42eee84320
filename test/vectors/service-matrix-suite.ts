// test/vectors/mbms-service-matrix.json: one TEK and salt per cell (profile × TGK length × Alternative 1/2 ×
// MKI layout), three ways: the key hierarchy's derivation; Alternative 2 split as the UICC mode splits it
// (SK-TGK on the card, the TEK in the ME); and the receiver, as a browser receiver runs it (key message →
// MeTekSource → MkiEvaluator → SrtpContext), decrypting a packet the sender protected with the published TEK.
import { hex, unhex } from "./hex.js";
import type { CryptoCore, SrtpProfileName, VectorLibrary } from "./library.js";
import type { PublishedVectors } from "./published.js";
import { check, type VectorResult } from "./result.js";

type Cell = PublishedVectors["serviceMatrix"]["cases"][number];

const tekLength = (c: Cell) => c.tek.length / 2 as 16 | 32;
const published = (c: Cell) => ({ tek: c.tek, salt: c.salt });
const keysOf = (k: { masterKey: Uint8Array; masterSalt: Uint8Array }) => ({ tek: hex(k.masterKey), salt: hex(k.masterSalt) });

export function serviceMatrixVectors(lib: VectorLibrary, core: CryptoCore, vectors: PublishedVectors["serviceMatrix"]): VectorResult[] {
  const cells = vectors.cases;
  return [
    ...cells.map((c) => check("service-matrix", c.name, published(c), () => keysOf(lib.deriveSrtpMasterKeys(
      { tgk: unhex(c.tgk), tgkId: c.tgkId, csbId: parseInt(c.csbId, 16), csId: c.csId, tekRand: unhex(c.tekRand), mki: unhex(c.mki) },
      { layout: c.layout, derivation: c.derivation as "alt1" | "alt2", tekLength: tekLength(c), core },
    )))),
    ...cells.filter((c) => c.derivation === "alt2").map((c) => check("service-matrix-split", c.name, { skTgkBytes: c.tgk.length / 2, ...published(c) }, () => {
      const csbId = parseInt(c.csbId, 16);
      const skTgk = lib.deriveSkTgk({ tgk: unhex(c.tgk), tgkId: c.tgkId, csbId, mki: unhex(c.mki) }, { layout: c.layout, core });
      return { skTgkBytes: skTgk.length, ...keysOf(lib.tekFromSkTgk({ skTgk, csbId, csId: c.csId, tekRand: unhex(c.tekRand) }, { tekLength: tekLength(c), core })) };
    })),
    ...cells.map((c) => check("receiver", c.name, "decrypted", () => receive(lib, core, c))),
  ];
}

const NOW = Date.UTC(2025, 0, 1);
const KEK = unhex("000102030405060708090a0b0c0d0e0f");
const RTP = unhex("800f1234decafbadcafebabe" + "ab".repeat(32));

/** The cell's key message opened by the UE, and one packet under the cell's MKI, protected with its published TEK and salt. */
function receive(lib: VectorLibrary, core: CryptoCore, c: Cell): string {
  const profile = c.profile as SrtpProfileName, derivation = c.derivation as "alt1" | "alt2", csbId = parseInt(c.csbId, 16);
  const source = new lib.MeTekSource({ core, clock: { now: () => NOW } });
  const delivered: string[] = [];
  const evaluator = new lib.MkiEvaluator({ tekSource: source, onPacket: (p) => void delivered.push(hex(p)), core });
  const tx = new lib.SrtpContext({ profile, keys: [{ key: unhex(c.tek), salt: unhex(c.salt), mki: unhex(c.mki) }] }, core);
  try {
    const message = lib.buildMbmsKeyMessage({
      kek: KEK, bmscId: "bmsc", userId: "ue", serviceId: "matrix", csbId, tekRand: unhex(c.tekRand), profile, derivation, layout: c.layout,
      tgks: [{ tgkId: c.tgkId, tgk: unhex(c.tgk), validFrom: NOW, expiresAt: NOW + 3_600_000 }], nowMs: NOW,
    }, core);
    source.accept(lib.openMbmsKeyMessage(message, { kek: KEK, nowMs: NOW }, core));
    const buf = new Uint8Array(RTP.length + 64);
    buf.set(RTP);
    const n = evaluator.receive(buf, tx.protect(buf, RTP.length));
    if (n < 0) return `refused: status ${-n}`;
    return delivered.length === 1 && delivered[0] === hex(RTP) ? "decrypted" : `delivered ${JSON.stringify(delivered)}`;
  } finally {
    tx.close();
    evaluator.close();
    source.close();
  }
}
