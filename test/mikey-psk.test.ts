// MIKEY PSK messages (RFC 3830 §4.2, §5): the worked I_MESSAGE of docs/key-derivation.md §5 rebuilt byte for
// byte; several TGKs in one message; every refusal (MAC, timestamp, replay, update without RAND) typed
// and taken before decryption; the Verification message; and a fuzz of the verifier.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { prng } from "./helpers/prng.js";
import {
  DataType, IdType, KeyDataType, KvType, MikeyError, PayloadType, ReplayCache, TsType, decodeMessage,
  loadCore, ntpFromMs, openPskMessage, openPskVerification, sealPskMessage, sealPskVerification,
  type KeyDataPayload, type SpPayload,
} from "../src/index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ""), "hex"));

// docs/key-derivation.md §5 (our own worked vector, checked there against an independent Python implementation).
const I_MESSAGE =
  "0100050012345678010000cafebabe00000000" + "0b00eb0a1b2c3d4e5f60" + "0a10202122232425262728292a2b2c2d2e2f" +
  "010000002100010101011002010103011404010e0501000601000701010801010a01010b010a" +
  "00010019ee55e1afe78a35c7c0a3e53a65f733288782fd79c7831c6951013ffd99aef156c8e324b6dc444136f41ed3ded7dc";
const PSK = unhex("000102030405060708090a0b0c0d0e0f");
const TGK = unhex("101112131415161718191a1b1c1d1e1f");
const RAND = unhex("202122232425262728292a2b2c2d2e2f");
const T = 0xeb0a1b2c3d4e5f60n;
const T_MS = 1_700_000_000_000; // a "now" for messages built here

const tgk = (key: Uint8Array, mki: number): KeyDataPayload => ({
  keyType: KeyDataType.Tgk, key, kv: { kvType: KvType.Spi, spi: unhex(mki.toString(16).padStart(8, "0")) },
});
const core = loadCore();

function message(overrides: Partial<Parameters<typeof sealPskMessage>[0]> = {}) {
  return sealPskMessage({
    psk: PSK, csbId: 0x12345678, srtpMap: [{ policyNo: 0, ssrc: 0xcafebabe, roc: 0 }], rand: RAND,
    timestamp: { tsType: TsType.NtpUtc, value: ntpFromMs(T_MS) }, keys: [tgk(TGK, 1)], ...overrides,
  }, core);
}
const codeOf = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(MikeyError);
    return (e as MikeyError).code;
  }
};

describe("MIKEY PSK Initiator message", () => {
  it("rebuilds the §2.13 I_MESSAGE byte for byte, and opens it", () => {
    const sp = decodeMessage(unhex(I_MESSAGE)).payloads.find((p) => p.type === PayloadType.SP) as SpPayload;
    const bytes = sealPskMessage({
      psk: PSK, csbId: 0x12345678, srtpMap: [{ policyNo: 0, ssrc: 0xcafebabe, roc: 0 }], rand: RAND,
      timestamp: { tsType: TsType.NtpUtc, value: T }, policies: [sp], keys: [tgk(TGK, 1)],
    }, core);
    expect(hex(bytes)).toBe(I_MESSAGE);
    const opened = openPskMessage(bytes, { psk: PSK, clockSkewMs: Infinity }, core);
    expect(opened.keys).toHaveLength(1);
    expect(hex(opened.keys[0]!.key)).toBe(hex(TGK));
    expect(opened.keys[0]!.kv).toEqual({ kvType: KvType.Spi, spi: unhex("00000001") });
    expect(opened.csbId).toBe(0x12345678);
    expect(hex(opened.rand)).toBe(hex(RAND));
  });

  it("carries three TGKs (current and next ones) with identities", () => {
    const keys = [1, 2, 3].map((id) => tgk(new Uint8Array(randomBytes(id === 3 ? 32 : 16)), id));
    const bytes = message({
      keys, idi: { idType: IdType.Uri, id: new TextEncoder().encode("bmsc.example") },
      idr: { idType: IdType.Uri, id: new TextEncoder().encode("user-17") },
    });
    const opened = openPskMessage(bytes, { psk: PSK, nowMs: T_MS }, core);
    expect(opened.keys.map((k) => hex(k.key))).toEqual(keys.map((k) => hex(k.key)));
    expect(new TextDecoder().decode(opened.idr!.id)).toBe("user-17");
  });

  it("refuses a wrong PSK and any tampered byte, before decrypting", () => {
    const bytes = message();
    expect(codeOf(() => openPskMessage(bytes, { psk: new Uint8Array(16), nowMs: T_MS }, core))).toBe("ERR_AUTH");
    for (let i = 0; i < bytes.length; i++) {
      const forged = bytes.slice();
      forged[i]! ^= 0x01;
      expect(codeOf(() => openPskMessage(forged, { psk: PSK, nowMs: T_MS }, core)), `byte ${i}`).not.toBe("ok");
    }
  });

  it("refuses stale timestamps, replays (only authenticated messages are cached) and counters that do not rise", () => {
    const bytes = message();
    expect(codeOf(() => openPskMessage(bytes, { psk: PSK, nowMs: T_MS + 10 * 60_000 }, core))).toBe("ERR_TIMESTAMP");
    const cache = new ReplayCache(5 * 60_000);
    const forged = bytes.slice();
    forged[forged.length - 1]! ^= 1;
    expect(codeOf(() => openPskMessage(forged, { psk: PSK, nowMs: T_MS, replayCache: cache }, core))).toBe("ERR_AUTH");
    expect(cache.size).toBe(0);
    expect(codeOf(() => openPskMessage(bytes, { psk: PSK, nowMs: T_MS, replayCache: cache }, core))).toBe("ok");
    expect(codeOf(() => openPskMessage(bytes, { psk: PSK, nowMs: T_MS + 1000, replayCache: cache }, core))).toBe("ERR_REPLAY");
    const counter = message({ timestamp: { tsType: TsType.Counter, value: 7n } });
    expect(codeOf(() => openPskMessage(counter, { psk: PSK, lastCounter: 7n }, core))).toBe("ERR_TIMESTAMP");
    expect(codeOf(() => openPskMessage(counter, { psk: PSK, lastCounter: 6n }, core))).toBe("ok");
  });

  it("a full replay cache refuses (ERR_REPLAY_CACHE_FULL), remembers nothing, and frees room only as entries expire", () => {
    const at = (ms: number) => message({ timestamp: { tsType: TsType.NtpUtc, value: ntpFromMs(ms) } });
    const open = (bytes: Uint8Array, nowMs: number, replayCache: ReplayCache) => codeOf(() => openPskMessage(bytes, { psk: PSK, nowMs, replayCache }, core));
    const SKEW = 5 * 60_000;
    const cache = new ReplayCache(SKEW, 2);
    const [m1, m2, m3] = [T_MS, T_MS + 1, T_MS + 2].map(at);
    expect(open(m1!, T_MS, cache)).toBe("ok");
    expect(open(m2!, T_MS, cache)).toBe("ok");
    expect(open(m3!, T_MS + 10, cache)).toBe("ERR_REPLAY_CACHE_FULL");
    expect(cache.size).toBe(2);
    const kemac = decodeMessage(m3!).payloads.find((p) => p.type === PayloadType.KEMAC);
    expect(kemac?.type).toBe(PayloadType.KEMAC);
    expect(kemac?.type === PayloadType.KEMAC && cache.has(hex(kemac.mac), T_MS + 10)).toBe(false); // not remembered
    expect(open(m1!, T_MS + 20, cache)).toBe("ERR_REPLAY"); // full, it still knows what it holds
    // m1 and m2 expire with their timestamps (T + skew); the refusal lasts one skew from the filling.
    const m4 = at(T_MS + 10 + SKEW);
    expect(open(m4, T_MS + 9 + SKEW, cache)).toBe("ERR_REPLAY_CACHE_FULL");
    expect(open(m4, T_MS + 10 + SKEW, cache)).toBe("ok");
    expect(cache.size).toBe(1);
  });

  it("the cache remembers a message as long as its timestamp is fresh, and only fresh ones fill it", () => {
    const SKEW = 5 * 60_000;
    const cache = new ReplayCache(SKEW, 2);
    const open = (ms: number, nowMs: number) => codeOf(() => openPskMessage(
      message({ timestamp: { tsType: TsType.NtpUtc, value: ntpFromMs(ms) } }), { psk: PSK, nowMs, replayCache: cache }, core,
    ));
    // A message stamped 4 minutes ahead (within the skew) stays fresh until T + 9 min: so does its entry.
    expect(open(T_MS + 4 * 60_000, T_MS)).toBe("ok");
    expect(open(T_MS, T_MS)).toBe("ok");
    expect(open(T_MS + 4 * 60_000, T_MS + 6 * 60_000)).toBe("ERR_REPLAY");
    // At T + 6 min the second entry has expired although it was added after the first: room for one more.
    expect(open(T_MS + 6 * 60_000, T_MS + 6 * 60_000)).toBe("ok");
    expect(cache.size).toBe(2);
  });

  it("an update (no RAND payload) opens only with the initial exchange's RAND", () => {
    const update = message({ rand: undefined, initialRand: RAND });
    expect(decodeMessage(update).payloads.some((p) => p.type === PayloadType.RAND)).toBe(false);
    expect(codeOf(() => openPskMessage(update, { psk: PSK, nowMs: T_MS }, core))).toBe("ERR_NO_RAND");
    expect(codeOf(() => openPskMessage(update, { psk: PSK, nowMs: T_MS, initialRand: randomBytes(16) }, core))).toBe("ERR_AUTH");
    expect(hex(openPskMessage(update, { psk: PSK, nowMs: T_MS, initialRand: RAND }, core).keys[0]!.key)).toBe(hex(TGK));
  });

  it("looks the PSK up by identity; an unknown identity is ERR_NO_PSK", () => {
    const bytes = message({ idr: { idType: IdType.Uri, id: new TextEncoder().encode("user-9") } });
    const lookup = (users: Record<string, Uint8Array>) => (m: ReturnType<typeof decodeMessage>) => {
      const idr = m.payloads.filter((p) => p.type === PayloadType.ID)[0];
      return idr && idr.type === PayloadType.ID ? users[new TextDecoder().decode(idr.id)] : undefined;
    };
    expect(codeOf(() => openPskMessage(bytes, { psk: lookup({ "user-9": PSK }), nowMs: T_MS }, core))).toBe("ok");
    expect(codeOf(() => openPskMessage(bytes, { psk: lookup({}), nowMs: T_MS }, core))).toBe("ERR_NO_PSK");
  });

  it("the Verification message (V flag) round-trips and detects tampering", () => {
    const opened = openPskMessage(message({ verify: true, idi: { idType: IdType.Nai, id: new TextEncoder().encode("bmsc") } }), { psk: PSK, nowMs: T_MS }, core);
    expect(opened.message.header.v).toBe(true);
    const r = sealPskVerification(PSK, opened, core);
    expect(decodeMessage(r).header.dataType).toBe(DataType.PskVerify);
    expect(codeOf(() => openPskVerification(r, PSK, opened, core))).toBe("ok");
    const forged = r.slice();
    forged[forged.length - 3]! ^= 4;
    expect(codeOf(() => openPskVerification(forged, PSK, opened, core))).toBe("ERR_AUTH");
    expect(codeOf(() => openPskVerification(r, new Uint8Array(16), opened, core))).toBe("ERR_AUTH");
  });
});

describe("fuzzing the PSK verifier", () => {
  it("1,000,000 mutated messages: only MikeyError, never a key out of a modified message", () => {
    const N = Number(process.env.FUZZ_MUTATIONS ?? 1_000_000);
    const originals = [message(), message({ keys: [tgk(TGK, 1), tgk(TGK, 2), tgk(TGK, 3)] })];
    const rand = prng(0x9e3779b9);
    let opened = 0;
    const codes = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const src = originals[i & 1]!;
      const m = src.slice(0, rand(4) === 0 ? rand(src.length) : src.length);
      for (let k = rand(3) + 1; k > 0 && m.length > 0; k--) m[rand(m.length)]! ^= 1 << rand(8);
      try {
        openPskMessage(m, { psk: PSK, nowMs: T_MS }, core);
        // Two flips of the same bit give back the original, which rightly opens: anything else must not.
        if (hex(m) !== hex(src)) opened++;
      } catch (e) {
        if (!(e instanceof MikeyError)) throw e;
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    expect(opened).toBe(0);
    expect(codes.get("ERR_AUTH")).toBeGreaterThan(N / 10);
  }, 600_000);
});
