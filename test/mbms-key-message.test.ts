// The MBMS key message profile (docs/mikey-profile.md): several TGKs with lifetimes, service id and
// policy in one PSK message under the user's KEK, opened by the user, refused to anyone else; the
// delivered TGK keys an SRTP receiver through the MKI.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildMbmsKeyMessage, buildMki, buildSrtpParams, decodeMessage, deriveSrtpMasterKeys, loadCore, MikeyError, openMbmsKeyMessage, PayloadType, SrtpContext,
  SRTP_PROFILES, type SrtpProfileName,
} from "../src/index.js";
import { profileOf } from "../src/mbms/key-message.js";
import { MeTekSource } from "../src/mbms/ue/tek-source.js";
import { rtpPacket, withRoom } from "./helpers/rtp.js";

const core = loadCore();
const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const kek = new Uint8Array(randomBytes(16));
const tgks = [1, 2, 3].map((tgkId) => ({
  tgkId: 0x1000 + tgkId, tgk: new Uint8Array(randomBytes(16)), validFrom: NOW + (tgkId - 1) * HOUR, expiresAt: NOW + tgkId * HOUR,
}));
const input = {
  kek, bmscId: "bmsc.operator.example", userId: "sip:user17@operator.example", serviceId: "urn:mbms:tv:channel-1",
  csbId: 0xc0ffee01, tekRand: new Uint8Array(randomBytes(16)), profile: "AES_CM_128_HMAC_SHA1_80" as const, tgks,
  streams: [{ ssrc: 0x11223344, roc: 7 }, { ssrc: 0x55667788, roc: 0xfffffffe }], nowMs: NOW,
};

describe("MBMS key message", () => {
  it("round-trips three TGKs with their lifetimes, the service, identities, policy and CS map", () => {
    const bytes = buildMbmsKeyMessage(input, core);
    const d = openMbmsKeyMessage(bytes, { kek: (user) => (user === input.userId ? kek : undefined), nowMs: NOW }, core);
    expect(d).toMatchObject({
      bmscId: input.bmscId, userId: input.userId, serviceId: input.serviceId, csbId: input.csbId, csId: 1,
      streams: input.streams, profile: "AES_CM_128_HMAC_SHA1_80",
    });
    expect(d.tgks.map((g) => [g.tgkId, Buffer.from(g.tgk).toString("hex"), g.validFrom, g.expiresAt])).toEqual(
      tgks.map((g) => [g.tgkId, Buffer.from(g.tgk).toString("hex"), g.validFrom, g.expiresAt]),
    );
  });

  it("a re-key is an RFC 3830 §4.5 update: no RAND payload; it opens with the TEK_RAND kept from the initial message, and only with it", () => {
    const initial = openMbmsKeyMessage(buildMbmsKeyMessage(input, core), { kek, nowMs: NOW }, core);
    const bytes = buildMbmsKeyMessage({ ...input, update: true, nowMs: NOW + 1 }, core);
    expect(decodeMessage(bytes).payloads.map((p) => p.type)).not.toContain(PayloadType.RAND);
    expect(bytes.length).toBe(buildMbmsKeyMessage({ ...input, nowMs: NOW + 1 }, core).length - 2 - input.tekRand.length);
    expect(() => openMbmsKeyMessage(bytes, { kek, nowMs: NOW }, core)).toThrow(expect.objectContaining({ code: "ERR_NO_RAND" }));
    const wrong = new Uint8Array(randomBytes(16));
    expect(() => openMbmsKeyMessage(bytes, { kek, nowMs: NOW, tekRand: wrong }, core)).toThrow(expect.objectContaining({ code: "ERR_AUTH" }));
    const d = openMbmsKeyMessage(bytes, { kek, nowMs: NOW, tekRand: (csbId) => (csbId === input.csbId ? initial.tekRand : undefined) }, core);
    expect([initial.update, d.update]).toEqual([false, true]);
    expect(d.tekRand).toEqual(input.tekRand);
    expect(d.tgks.map((g) => Buffer.from(g.tgk).toString("hex"))).toEqual(tgks.map((g) => Buffer.from(g.tgk).toString("hex")));
    // The ME's source keeps the TEK_RAND of the service's initial message and derives the same TEKs after an update.
    const me = new MeTekSource({ core, clock: { now: () => NOW } });
    expect(me.tekRandFor(input.csbId)).toBeUndefined();
    me.accept(initial);
    me.accept(d);
    expect(me.tekRandFor(input.csbId)).toEqual(input.tekRand);
    expect(me.tekRandFor(input.csbId + 1)).toBeUndefined();
    const mki = buildMki(tgks[0]!.tgkId, new Uint8Array(8).fill(3));
    const want = deriveSrtpMasterKeys({ tgk: tgks[0]!.tgk, tgkId: tgks[0]!.tgkId, csbId: input.csbId, csId: 1, tekRand: input.tekRand, mki }, { core });
    expect(me.deriveTekSync(mki)!.masterKey).toEqual(want.masterKey);
  });

  it("carries the TEK derivation and the MKI layout, so that the receiver needs no setting of its own", () => {
    const plain = openMbmsKeyMessage(buildMbmsKeyMessage(input, core), { kek, nowMs: NOW }, core);
    expect([plain.derivation, plain.layout]).toEqual(["alt1", { tgkIdBytes: 4, randBytes: 8 }]);
    const custom = buildMbmsKeyMessage({ ...input, derivation: "alt2", layout: { tgkIdBytes: 2, randBytes: 14 }, tgks: tgks.slice(0, 1) }, core);
    const d = openMbmsKeyMessage(custom, { kek, nowMs: NOW }, core);
    expect([d.derivation, d.layout]).toEqual(["alt2", { tgkIdBytes: 2, randBytes: 14 }]);
    expect(() => buildMbmsKeyMessage({ ...input, layout: { tgkIdBytes: 1 } }, core)).toThrow(expect.objectContaining({ code: "ERR_TGK_ID" }));
  });

  it("a receiver configured otherwise refuses the service at keying (nothing taken), and needs no setting", () => {
    const delivery = () => openMbmsKeyMessage(buildMbmsKeyMessage({ ...input, derivation: "alt2" }, core), { kek, nowMs: NOW }, core);
    for (const wrong of [{ derivation: "alt1" as const }, { layout: { tgkIdBytes: 2 } }]) {
      const me = new MeTekSource({ core, clock: { now: () => NOW }, ...wrong });
      expect(() => me.accept(delivery())).toThrow(expect.objectContaining({ code: "ERR_SERVICE_PARAMETERS" }));
      expect(me.knownTgkIds()).toEqual([]);
    }
    const plain = new MeTekSource({ core, clock: { now: () => NOW } });
    plain.accept(delivery());
    expect(plain.parameters).toEqual({ profile: "AES_CM_128_HMAC_SHA1_80", derivation: "alt2", layout: { tgkIdBytes: 4, randBytes: 8 } });
    const next = openMbmsKeyMessage(buildMbmsKeyMessage({ ...input, profile: "AES_CM_128_HMAC_SHA1_32", derivation: "alt2", nowMs: NOW + 1 }, core), { kek, nowMs: NOW }, core);
    expect(() => plain.accept(next)).toThrow(expect.objectContaining({ code: "ERR_SERVICE_PARAMETERS" }));
    plain.close();
  });

  it("names the profile only for a policy exactly as the BM-SC writes it (defaults may be left out)", () => {
    const written = (name: SrtpProfileName, extra = {}) => {
      const p = SRTP_PROFILES[name];
      return buildSrtpParams({ encrAlg: 1, encrKeyLen: p.keyLength, authAlg: 1, authKeyLen: 20, saltKeyLen: 14, authTagLen: p.srtpTagLength, ...extra });
    };
    for (const name of Object.keys(SRTP_PROFILES) as SrtpProfileName[]) expect(profileOf(written(name))).toBe(name);
    expect(profileOf(buildSrtpParams({ encrKeyLen: 32, authTagLen: 4 }))).toBe("AES_256_CM_HMAC_SHA1_32");
    for (const extra of [{ keyDerivationRate: 1 << 16 }, { srtpEncryption: 0 }, { srtpAuthentication: 0 }, { authKeyLen: 16 },
      { prefixLen: 4 }, { rocTransmissionRate: 1 }, { encrKeyLen: 24 }, { authTagLen: 8 }]) {
      expect(() => profileOf(written("AES_CM_128_HMAC_SHA1_80", extra)), JSON.stringify(extra)).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    }
  });

  it("is refused under another user's KEK and for an unknown user", () => {
    const bytes = buildMbmsKeyMessage(input, core);
    expect(() => openMbmsKeyMessage(bytes, { kek: new Uint8Array(16), nowMs: NOW }, core)).toThrow(
      expect.objectContaining({ code: "ERR_AUTH" }),
    );
    expect(() => openMbmsKeyMessage(bytes, { kek: () => undefined, nowMs: NOW }, core)).toThrow(MikeyError);
  });

  it("a delivered TGK keys an SRTP receiver for the MKI the BM-SC sends (Alternative 1)", () => {
    const d = openMbmsKeyMessage(buildMbmsKeyMessage(input, core), { kek, nowMs: NOW }, core);
    const tekRand2 = new Uint8Array(randomBytes(8));
    const mki = buildMki(tgks[0]!.tgkId, tekRand2);
    const derive = (tgk: Uint8Array) =>
      deriveSrtpMasterKeys({ tgk, tgkId: tgks[0]!.tgkId, csbId: d.csbId, csId: d.csId, tekRand: d.tekRand, mki }, { core });
    const bmsc = derive(tgks[0]!.tgk), ue = derive(d.tgks[0]!.tgk);
    const tx = new SrtpContext({ keys: [{ key: bmsc.masterKey, salt: bmsc.masterSalt, mki }] }, core);
    const rx = new SrtpContext({ keys: [{ key: ue.masterKey, salt: ue.masterSalt, mki }] }, core);
    const plain = rtpPacket({ seq: 1, ssrc: d.streams[0]!.ssrc, payload: 100 });
    const buf = withRoom(plain);
    expect(rx.unprotect(buf, tx.protect(buf, plain.length))).toBe(plain.length);
    tx.close();
    rx.close();
  });
});
