// What the KEK hides (issue 16 item 1): the service id and the TGK validities travel in a sealed General
// Extension (type 250) of the key message, not in clear; ME and card read the same facts from it; the MAC
// covers it; an opener that does not name its type gets it undecrypted. The "before" layout (the same
// entries in the clear Key ID extension) is built here too, to show the checks find what they look for.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ExtensionType, IdType, KeyDataType, KeyIdType, KvType, PayloadType, TsType, buildMbmsKeyMessage, decodeMessage,
  loadCore, ntpFromMs, openMbmsKeyMessage, openPskMessage, sealPskMessage, type KeyIdEntry,
} from "../src/index.js";
import { EXT_TYPE_SEALED_KEY_IDS } from "../src/mikey/sealed-extension.js";
import { keyMessageFacts } from "../src/mbms/key-message-facts.js";
import { KEY_ID_TGK_VALIDITY, encodeSealedKeyIds } from "../src/mbms/sealed-key-ids.js";
import { serviceParamsEntry } from "../src/mbms/service-parameters.js";
import { DEFAULT_MKI_LAYOUT } from "../src/mbms/key-hierarchy.js";
import { SoftCard } from "../src/mbms/uicc/soft-card.js";
import { AuthMode, decodeAuthenticateResponse, decodeResponseApdu, encodeAuthenticate } from "../src/mbms/uicc/apdu.js";
import { SW } from "../src/mbms/uicc/errors.js";
import { decodeDeliveryResponse } from "../src/mbms/uicc/delivery-response.js";
import { inProcessCard } from "./helpers/in-process-card.js";
import { UiccTekSource } from "../src/mbms/uicc/uicc-tek-source.js";
import { buildMki } from "../src/mbms/key-hierarchy.js";

const core = loadCore();
const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const kek = new Uint8Array(randomBytes(16));
const tgks = [1, 2].map((n) => ({ tgkId: 0x7000 + n, tgk: new Uint8Array(randomBytes(16)), validFrom: NOW + (n - 1) * HOUR, expiresAt: NOW + n * HOUR }));
const input = {
  kek, bmscId: "bmsc.operator.example", userId: "sip:user9@operator.example", serviceId: "urn:mbms:sealed:news",
  csbId: 0x5eed0001, tekRand: new Uint8Array(randomBytes(16)), profile: "AES_CM_128_HMAC_SHA1_80" as const, tgks, nowMs: NOW,
};
const utf8 = new TextEncoder();

const indexOf = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle));
const validity = (g: (typeof tgks)[number]) => {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint32(0, g.tgkId);
  v.setBigUint64(4, ntpFromMs(g.validFrom));
  v.setBigUint64(12, ntpFromMs(g.expiresAt));
  return b;
};

/** The layout before this change: service id and validities in the clear Key ID extension. */
function clearLayoutMessage(): Uint8Array {
  const keyIds: KeyIdEntry[] = [
    { keyIdType: KeyIdType.MbmsKeyDomainId, keyId: utf8.encode(input.serviceId) }, serviceParamsEntry("alt1", DEFAULT_MKI_LAYOUT),
    ...tgks.map((g) => ({ keyIdType: KEY_ID_TGK_VALIDITY, keyId: validity(g) })),
  ];
  return sealPskMessage({
    psk: kek, csbId: input.csbId, srtpMap: [{ policyNo: 0, ssrc: 0, roc: 0 }], rand: input.tekRand,
    timestamp: { tsType: TsType.NtpUtc, value: ntpFromMs(NOW) },
    idi: { idType: IdType.Uri, id: utf8.encode(input.bmscId) }, idr: { idType: IdType.Uri, id: utf8.encode(input.userId) },
    extensions: [{ type: PayloadType.GeneralExtension, extType: ExtensionType.KeyId, keyIds }],
    policies: decodeMessage(buildMbmsKeyMessage(input, core)).payloads.flatMap((p) => (p.type === PayloadType.SP ? [{ policyNo: p.policyNo, protType: p.protType, params: p.params }] : [])),
    keys: tgks.map((g) => {
      const spi = new Uint8Array(4);
      new DataView(spi.buffer).setUint32(0, g.tgkId);
      return { keyType: KeyDataType.Tgk, key: g.tgk, kv: { kvType: KvType.Spi, spi } };
    }),
  }, core);
}

/** What a reader of the bytes finds: the service id, a TGK-ID ‖ valid-from, a full validity entry, a TGK. */
function leaks(bytes: Uint8Array): string[] {
  const found: string[] = [];
  if (indexOf(bytes, utf8.encode(input.serviceId)) >= 0) found.push("service id");
  for (const g of tgks) {
    if (indexOf(bytes, validity(g).subarray(0, 12)) >= 0) found.push(`TGK-ID ${g.tgkId} ‖ valid-from`);
    if (indexOf(bytes, validity(g)) >= 0) found.push(`validity of ${g.tgkId}`);
    if (indexOf(bytes, g.tgk) >= 0) found.push(`TGK ${g.tgkId}`);
  }
  return found;
}

const cardDeliver = (card: SoftCard, bytes: Uint8Array) => card.process(encodeAuthenticate(AuthMode.KeyMessage, bytes));

describe("the key message seals the service id and the TGK validities", () => {
  it("its bytes show neither the service id, nor any TGK-ID ‖ validity, nor a TGK (the clear layout showed the first two)", () => {
    const before = clearLayoutMessage();
    expect(leaks(before)).toEqual(["service id", ...tgks.flatMap((g) => [`TGK-ID ${g.tgkId} ‖ valid-from`, `validity of ${g.tgkId}`])]);
    const after = buildMbmsKeyMessage(input, core);
    expect(leaks(after)).toEqual([]);
    // The clear parts still name what is not secret; the sealed extension is there, type 250.
    const facts = keyMessageFacts(after);
    expect(facts).toMatchObject({ csbId: input.csbId, userId: input.userId, parameters: { derivation: "alt1" } });
    expect(Object.keys(facts)).not.toContain("serviceId");
    expect(Object.keys(facts)).not.toContain("tgks");
    const exts = decodeMessage(after).payloads.filter((p) => p.type === PayloadType.GeneralExtension);
    expect(exts.map((e) => e.extType)).toEqual([ExtensionType.KeyId, EXT_TYPE_SEALED_KEY_IDS]);
  });

  it("ME and card open it and get the same service id and TGK validities", () => {
    const bytes = buildMbmsKeyMessage(input, core);
    const me = openMbmsKeyMessage(bytes, { kek, nowMs: NOW }, core);
    const card = new SoftCard(kek, { core });
    const answer = decodeDeliveryResponse(decodeAuthenticateResponse(cardDeliver(card, bytes)));
    const expected = { serviceId: input.serviceId, tgks: tgks.map(({ tgkId, validFrom, expiresAt }) => ({ tgkId, validFrom, expiresAt })) };
    expect(answer).toEqual(expected);
    expect({ serviceId: me.serviceId, tgks: me.tgks.map(({ tgkId, validFrom, expiresAt }) => ({ tgkId, validFrom, expiresAt })) }).toEqual(expected);
    expect(card.tgkCount).toBe(2);
  });

  it("a flipped bit in the sealed extension fails the MAC: ERR_AUTH for the ME, 9862 from the card", () => {
    const bytes = buildMbmsKeyMessage(input, core);
    const at = Buffer.from(bytes).indexOf(Buffer.from([0x0a, EXT_TYPE_SEALED_KEY_IDS])) + 4 + 3; // a byte of its Data
    for (const bit of [0x01, 0x80]) {
      const bad = bytes.slice();
      bad[at]! ^= bit;
      expect(() => openMbmsKeyMessage(bad, { kek, nowMs: NOW }, core)).toThrow(expect.objectContaining({ code: "ERR_AUTH" }));
      expect(decodeResponseApdu(cardDeliver(new SoftCard(kek, { core }), bad)).sw).toBe(SW.INCORRECT_MAC);
    }
  });

  it("an opener that does not name type 250 gets it undecrypted, in the clear list", () => {
    const bytes = buildMbmsKeyMessage(input, core);
    const plain = encodeSealedKeyIds(input);
    for (const types of [undefined, [], [251]]) {
      const opened = openPskMessage(bytes, { psk: kek, nowMs: NOW, ...(types ? { sealedExtensionTypes: types } : {}) }, core);
      expect(opened.sealedExtensions).toEqual([]);
      const raw = opened.extensions.find((e) => e.extType === EXT_TYPE_SEALED_KEY_IDS);
      expect(raw && "data" in raw ? raw.data.length : -1).toBe(plain.length);
      expect(raw && "data" in raw ? Buffer.from(raw.data).equals(Buffer.from(plain)) : true).toBe(false);
    }
    const named = openPskMessage(bytes, { psk: kek, nowMs: NOW, sealedExtensionTypes: [EXT_TYPE_SEALED_KEY_IDS] }, core);
    expect(named.sealedExtensions.map((e) => [e.extType, Buffer.from(e.data).toString("hex")])).toEqual([[EXT_TYPE_SEALED_KEY_IDS, Buffer.from(plain).toString("hex")]]);
    expect(named.extensions.map((e) => e.extType)).toEqual([ExtensionType.KeyId]);
  });

  it("a message without the sealed extension is not an MBMS key message (ME: ERR_ARGUMENT, card: 6A80)", () => {
    const before = clearLayoutMessage();
    expect(() => openMbmsKeyMessage(before, { kek, nowMs: NOW }, core)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT", message: expect.stringContaining("not an MBMS key message") }));
    expect(decodeResponseApdu(cardDeliver(new SoftCard(kek, { core }), before)).sw).toBe(SW.INCORRECT_DATA);
  });
});

describe("sealed General Extensions (RFC 3830 §6.15, MIKEY level)", () => {
  const base = {
    psk: kek, csbId: 7, srtpMap: [{ policyNo: 0, ssrc: 1, roc: 0 }], rand: new Uint8Array(16).fill(9),
    timestamp: { tsType: TsType.NtpUtc, value: ntpFromMs(NOW) },
    keys: [{ keyType: KeyDataType.Tgk, key: new Uint8Array(16).fill(0x42), kv: { kvType: KvType.Null } as const }],
  };

  it("several sealed extensions share one keystream run under ext_key, never the KEMAC's", () => {
    const a = new Uint8Array(40).fill(0), b = new Uint8Array(24).fill(0);
    const bytes = sealPskMessage({ ...base, sealedExtensions: [{ extType: 250, data: a }, { extType: 251, data: b }] }, core);
    const exts = decodeMessage(bytes).payloads.filter((p) => p.type === PayloadType.GeneralExtension);
    const streamA = "data" in exts[0]! ? exts[0].data : new Uint8Array(0); // plaintext zero: the ciphertext is the keystream
    const streamB = "data" in exts[1]! ? exts[1].data : new Uint8Array(0);
    expect(indexOf(streamA, streamB.subarray(0, 16))).toBe(-1); // b continues the run, it does not restart it
    const kemac = decodeMessage(bytes).payloads.find((p) => p.type === PayloadType.KEMAC)!;
    // KEMAC: next (1) ‖ type/KV (1) ‖ length (2) ‖ key: its keystream from byte 0 is encrData XOR the plaintext.
    const kemacPlain = Uint8Array.of(0, (KeyDataType.Tgk << 4) | KvType.Null, 0, 16, ...base.keys[0]!.key);
    const kemacStream = "encrData" in kemac ? kemac.encrData.map((x, i) => x ^ kemacPlain[i]!) : new Uint8Array(0);
    expect(Buffer.from(kemacStream.subarray(0, 16)).equals(Buffer.from(streamA.subarray(0, 16)))).toBe(false);
    const opened = openPskMessage(bytes, { psk: kek, nowMs: NOW, sealedExtensionTypes: [250, 251] }, core);
    expect(opened.sealedExtensions.map((e) => [e.extType, e.data.length, e.data.every((x) => x === 0)])).toEqual([[250, 40, true], [251, 24, true]]);
    expect(a.every((x) => x === 0) && b.length).toBe(24); // the caller's arrays are untouched
  });

  it("refuses type 3 (Key ID is decoded as a list) and out-of-range types: ERR_ENCODE", () => {
    for (const extType of [ExtensionType.KeyId, 256, -1, 1.5]) {
      expect(() => sealPskMessage({ ...base, sealedExtensions: [{ extType, data: new Uint8Array(4) }] }, core)).toThrow(expect.objectContaining({ code: "ERR_ENCODE" }));
    }
  });
});

describe("the card's mode 01 answer (delivery-response.ts) is read strictly", () => {
  const entry = (type: number, bytes: Uint8Array) => Uint8Array.of(type, bytes.length, ...bytes);
  const svc = entry(0, utf8.encode("svc"));
  const v1 = entry(KEY_ID_TGK_VALIDITY, validity(tgks[0]!));
  const cases: [string, Uint8Array | undefined][] = [
    ["no value", undefined], ["empty", new Uint8Array(0)], ["no TGK", svc], ["no service id", v1],
    ["truncated", Uint8Array.of(...svc, ...v1).subarray(0, svc.length + 10)], ["two service ids", Uint8Array.of(...svc, ...svc, ...v1)],
    ["a TGK-ID twice", Uint8Array.of(...svc, ...v1, ...v1)], ["a short validity", Uint8Array.of(...svc, ...entry(KEY_ID_TGK_VALIDITY, new Uint8Array(19)))],
    ["an unknown entry", Uint8Array.of(...svc, ...v1, ...entry(242, Uint8Array.of(1, 4, 8)))], ["an empty service id", Uint8Array.of(0, 0, ...v1)],
    ["a service id not UTF-8", Uint8Array.of(...entry(0, Uint8Array.of(0xff, 0xfe)), ...v1)],
  ];
  it.each(cases)("%s: ERR_BAD_RESPONSE", (_, value) => {
    expect(() => decodeDeliveryResponse(value)).toThrow(expect.objectContaining({ code: "ERR_BAD_RESPONSE" }));
  });
  it("a well-formed answer decodes", () => {
    expect(decodeDeliveryResponse(Uint8Array.of(...svc, ...v1))).toEqual({ serviceId: "svc", tgks: [{ tgkId: tgks[0]!.tgkId, validFrom: NOW, expiresAt: NOW + HOUR }] });
  });
});

describe("UiccTekSource learns service and expiries from the card", () => {
  it("refuses a message of another service after the card answered: the card holds its TGKs, the source records nothing", async () => {
    const card = new SoftCard(kek, { core });
    const source = new UiccTekSource(inProcessCard(card), { serviceId: "urn:mbms:sealed:sport", clock: { now: () => NOW } });
    const bytes = buildMbmsKeyMessage(input, core); // service urn:mbms:sealed:news: nothing clear says so
    await expect(source.deliver(bytes)).rejects.toMatchObject({ code: "ERR_ARGUMENT", message: expect.stringContaining("another service") });
    expect([source.knownTgkIds(), source.parameters, source.serviceId]).toEqual([[], undefined, "urn:mbms:sealed:sport"]);
    // The card did take it (MAC verified under its KEK): its TGKs are there, and the message is spent (9865).
    expect(card.tgkCount).toBe(2);
    expect(await source.proxy.generateTek(buildMki(tgks[0]!.tgkId, new Uint8Array(8)), input.csbId)).toBeDefined();
    const right = new UiccTekSource(source.proxy, { clock: { now: () => NOW } });
    await expect(right.deliver(bytes)).rejects.toMatchObject({ code: "ERR_FRESHNESS" });
    // A newer message of the service goes through, and the source of that service learns it from the card.
    const answer = await right.deliver(buildMbmsKeyMessage({ ...input, nowMs: NOW + 1 }, core));
    expect(answer.serviceId).toBe(input.serviceId);
    expect([right.serviceId, right.knownTgkIds().sort()]).toEqual([input.serviceId, tgks.map((g) => g.tgkId)]);
  });
});
