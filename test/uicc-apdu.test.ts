// The AUTHENTICATE (MBMS context) APDU codec of the UICC-proxy boundary, and fuzz: ≥ 200,000 mutated APDUs
// into the decoders and ≥ 200,000 into the soft card. Decoders throw only UiccError with a documented code
// (never a RangeError); the card never throws, always answers a well-formed response with a status word
// of the boundary's set, and never answers with a TGK's bytes.
import { describe, expect, it } from "vitest";
import { loadCore } from "../src/wasm/index.js";
import { buildMbmsKeyMessage, type TgkGrant } from "../src/mbms/key-message.js";
import { buildMki } from "../src/mbms/key-hierarchy.js";
import { SoftCard } from "../src/mbms/uicc/soft-card.js";
import {
  AuthMode, KNOWN_SWS, SW, UICC_ERROR_CODES, UiccError, decodeAuthTlv, decodeAuthenticate,
  decodeAuthenticateResponse, decodeCommandApdu, decodeResponseApdu, encodeAuthTlv, encodeAuthenticate,
  encodeAuthenticateResponse, encodeCommandApdu, encodeResponseApdu, errorOfSw,
} from "../src/mbms/uicc/index.js";
import { prng } from "./helpers/prng.js";

const MUTATIONS = Number(process.env.FUZZ_MUTATIONS ?? 200_000);
const CODES = new Set<string>(UICC_ERROR_CODES);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const core = loadCore();

function expectUicc(fn: () => unknown, code: string, sw?: number) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UiccError);
    expect((e as UiccError).code).toBe(code);
    if (sw !== undefined) expect((e as UiccError).sw).toBe(sw);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe("command APDU (ISO 7816-4 §5.1)", () => {
  it("decodes the seven cases and re-encodes them", () => {
    const cases: [string, object][] = [
      ["00a40000", { data: "", le: undefined, extended: false }], // 1
      ["00b0000000", { data: "", le: 256, extended: false }], // 2S
      ["00b0000010", { data: "", le: 16, extended: false }], // 2S
      ["00a4000002 3f00", { data: "3f00", le: undefined, extended: false }], // 3S
      ["00a4000002 3f00 00", { data: "3f00", le: 256, extended: false }], // 4S
      ["00b00000 000000", { data: "", le: 65536, extended: true }], // 2E
      ["00b00000 000200", { data: "", le: 512, extended: true }], // 2E
      ["00d60000 000002 aabb", { data: "aabb", le: undefined, extended: true }], // 3E (short data in extended form is allowed)
      ["00d60000 000002 aabb 0000", { data: "aabb", le: 65536, extended: true }], // 4E
    ];
    for (const [bytes, want] of cases) {
      const c = decodeCommandApdu(unhex(bytes));
      expect({ data: hex(c.data), le: c.le, extended: c.extended }).toEqual(want);
      const again = decodeCommandApdu(encodeCommandApdu(c));
      expect({ ...again, extended: undefined }).toEqual({ ...c, extended: undefined });
    }
    // 256 data bytes need the extended form; Ne 256 is short "00", Ne 65536 is extended "0000".
    const big = encodeCommandApdu({ cla: 0, ins: 0x89, p1: 0x80, p2: 0x85, data: new Uint8Array(256), le: 65536 });
    expect(hex(big.subarray(0, 7))).toBe("00898085000100");
    expect(hex(big.subarray(-2))).toBe("0000");
    expect(big.length).toBe(7 + 256 + 2);
  });

  it("refuses framing that matches no case with 6700", () => {
    for (const bad of ["", "00", "00a400", "00a4000002 3f", "00a4000002 3f00 0000", "00a40000 0000",
      "00a40000 000000 00", "00d60000 000003 aabb", "00d60000 000002 aabb 00", "00d60000 000000 aabb"]) {
      expectUicc(() => decodeCommandApdu(unhex(bad)), "ERR_WRONG_LENGTH", SW.WRONG_LENGTH);
    }
  });

  it("encoder refuses out-of-range fields with ERR_ARGUMENT", () => {
    expectUicc(() => encodeCommandApdu({ cla: 256, ins: 0, p1: 0, p2: 0 }), "ERR_ARGUMENT");
    expectUicc(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, le: 0 }), "ERR_ARGUMENT");
    expectUicc(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(65536) }), "ERR_ARGUMENT");
  });
});

describe("AUTHENTICATE in the MBMS security context", () => {
  it("lays out mode F2 (TEK from an MKI) as a short case-4 APDU", () => {
    const mki = unhex("00000007 0102030405060708");
    expect(hex(encodeAuthenticate(AuthMode.TekFromMki, mki))).toBe("00898085" + "0f" + "530d" + "f2" + "000000070102030405060708" + "00");
    expect(decodeAuthenticate(encodeAuthenticate(AuthMode.TekFromMki, mki))).toEqual({ mode: 0xf2, modeData: mki });
    expect(hex(encodeAuthenticate(AuthMode.DeleteTgk, unhex("00000007")))).toBe("00898085" + "07" + "5305" + "f3" + "00000007" + "00");
    // F4 (sign key request): the MAC input as mode data; response 53 14 ‖ MAC.
    expect(hex(encodeAuthenticate(AuthMode.SignKeyRequest, unhex("0a0a")))).toBe("00898085" + "05" + "5303" + "f4" + "0a0a" + "00");
    expect(AuthMode.SignKeyRequest).toBe(0xf4);
  });

  it("uses BER long lengths (81, 82) and extended APDUs for long key messages", () => {
    const m200 = new Uint8Array(200).fill(7);
    const a = encodeAuthenticate(AuthMode.KeyMessage, m200);
    expect(hex(a.subarray(0, 8))).toBe("00898085" + "cc" + "5381c9"); // Lc 204 = 53 81 C9 ‖ 201 bytes
    expect(a[8]).toBe(0x01);
    expect(decodeAuthenticate(a).modeData).toEqual(m200);
    const m400 = new Uint8Array(400).fill(9);
    const b = encodeAuthenticate(AuthMode.KeyMessage, m400);
    expect(hex(b.subarray(0, 12))).toBe("00898085" + "000195" + "53820191" + "01"); // Lc 405 = 53 82 0191 ‖ 401
    expect(hex(b.subarray(-2))).toBe("0000");
    expect(decodeAuthenticate(b)).toEqual({ mode: 1, modeData: m400 });
  });

  it("checks CLA, INS, P1/P2, the 53 TLV and the mode byte, in that order", () => {
    const good = encodeAuthenticate(AuthMode.TekFromMki, new Uint8Array(12));
    const patch = (i: number, v: number) => {
      const c = good.slice();
      c[i] = v;
      return c;
    };
    expectUicc(() => decodeAuthenticate(patch(0, 0x80)), "ERR_CLA_NOT_SUPPORTED", 0x6e00);
    expectUicc(() => decodeAuthenticate(patch(1, 0x88)), "ERR_INS_NOT_SUPPORTED", 0x6d00);
    expectUicc(() => decodeAuthenticate(patch(2, 0x00)), "ERR_INCORRECT_P1P2", 0x6a86);
    expectUicc(() => decodeAuthenticate(patch(3, 0x81)), "ERR_INCORRECT_P1P2", 0x6a86);
    expectUicc(() => decodeAuthenticate(patch(5, 0x73)), "ERR_INCORRECT_DATA", 0x6a80);
    expectUicc(() => decodeAuthenticate(patch(6, 0x0c)), "ERR_INCORRECT_DATA", 0x6a80);
    expectUicc(() => decodeAuthenticate(unhex("0089808500")), "ERR_WRONG_LENGTH", 0x6700); // no data
    expectUicc(() => decodeAuthenticate(unhex("00898085 02 5300 00")), "ERR_WRONG_LENGTH", 0x6700); // no mode
  });

  it("BER lengths are strict: minimal forms only, nothing before or after the TLV", () => {
    expect(decodeAuthTlv(unhex("5300"))).toEqual(new Uint8Array(0));
    expect(decodeAuthTlv(encodeAuthTlv(new Uint8Array(300)))).toEqual(new Uint8Array(300));
    for (const bad of ["53", "5381", "53817f" + "00".repeat(127), "538200ff" + "00".repeat(255), "5380", "538300000100", "5302aa", "530100ff", "00530100"]) {
      expectUicc(() => decodeAuthTlv(unhex(bad)), "ERR_INCORRECT_DATA", 0x6a80);
    }
  });
});

describe("response APDU", () => {
  it("encodes 9000 with and without a 53 TLV, errors as bare status words", () => {
    expect(hex(encodeAuthenticateResponse())).toBe("9000");
    expect(hex(encodeAuthenticateResponse(unhex("aabb")))).toBe("5302aabb9000");
    expect(decodeAuthenticateResponse(unhex("5302aabb9000"))).toEqual(unhex("aabb"));
    expect(decodeAuthenticateResponse(unhex("9000"))).toBeUndefined();
    expect(decodeResponseApdu(unhex("6a88"))).toEqual({ data: new Uint8Array(0), sw: 0x6a88 });
  });

  it("maps every status word of the boundary to its UiccError code", () => {
    const want: Record<number, string> = {
      0x9862: "ERR_INCORRECT_MAC", 0x9865: "ERR_FRESHNESS", 0x9866: "ERR_MEMORY_FULL", 0x6a88: "ERR_KEY_NOT_FOUND",
      0x6700: "ERR_WRONG_LENGTH", 0x6a80: "ERR_INCORRECT_DATA", 0x6d00: "ERR_INS_NOT_SUPPORTED", 0x6a86: "ERR_INCORRECT_P1P2",
      0x6f00: "ERR_NO_DIAGNOSIS", 0x6e00: "ERR_CLA_NOT_SUPPORTED", 0x6982: "ERR_UNKNOWN_SW",
    };
    for (const [sw, code] of Object.entries(want)) {
      expectUicc(() => decodeAuthenticateResponse(encodeResponseApdu(Number(sw))), code, Number(sw));
      expect(errorOfSw(Number(sw)).code).toBe(code);
    }
  });

  it("refuses malformed responses with ERR_BAD_RESPONSE", () => {
    for (const bad of ["", "90", "aa6a88", "aabb9000", "5303aabb9000"]) expectUicc(() => decodeAuthenticateResponse(unhex(bad)), "ERR_BAD_RESPONSE");
  });
});

// ---- fuzz ------------------------------------------------------------------------------------------------

const NOW = Date.UTC(2026, 0, 1);
const KEK = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const TGKS: TgkGrant[] = [1, 2, 3].map((id) => ({
  tgkId: id, tgk: Uint8Array.from({ length: 16 }, (_, i) => (id * 37 + i * 11) & 0xff), validFrom: NOW, expiresAt: NOW + 3_600_000,
}));
const keyMessage = (tgks: TgkGrant[], nowMs: number) => buildMbmsKeyMessage({
  kek: KEK, bmscId: "bmsc.example", userId: "sip:u@example", serviceId: "urn:mbms:fuzz", csbId: 0x01020304,
  tekRand: new Uint8Array(16).fill(5), profile: "AES_CM_128_HMAC_SHA1_80", tgks, nowMs,
}, core);

function seeds(): Uint8Array[] {
  const mki = (id: number, b: number) => buildMki(id, new Uint8Array(8).fill(b));
  return [
    encodeAuthenticate(AuthMode.KeyMessage, keyMessage(TGKS.slice(0, 1), NOW)), // short, 81 form
    encodeAuthenticate(AuthMode.KeyMessage, keyMessage(TGKS, NOW + 1)), // extended, 82 form
    encodeAuthenticate(AuthMode.TekFromMki, mki(1, 1)),
    encodeAuthenticate(AuthMode.TekFromMki, mki(2, 2)),
    encodeAuthenticate(AuthMode.TekFromMki, mki(9, 3)),
    encodeAuthenticate(AuthMode.DeleteTgk, unhex("00000003")),
    encodeAuthenticate(0x02, new Uint8Array(20)),
    unhex("00898085"), unhex("0089808500"),
  ];
}

function mutate(seed: Uint8Array, rand: (n: number) => number): Uint8Array {
  let b = seed.slice();
  const rounds = 1 + rand(3);
  for (let r = 0; r < rounds; r++) {
    switch (rand(9)) {
      case 0: // bit flip
        if (b.length) {
          const i = rand(b.length);
          b[i] = b[i]! ^ (1 << rand(8));
        }
        break;
      case 1: // random byte
        if (b.length) b[rand(b.length)] = rand(256);
        break;
      case 2: // truncate
        b = b.slice(0, rand(b.length + 1));
        break;
      case 3: { // append
        const extra = Uint8Array.from({ length: 1 + rand(4) }, () => rand(256));
        const c = new Uint8Array(b.length + extra.length);
        c.set(b);
        c.set(extra, b.length);
        b = c;
        break;
      }
      case 4: // header byte (CLA, INS, P1, P2, Lc)
        if (b.length > 4) b[rand(5)] = [0, 0x89, 0x80, 0x85, 0x00, 0xff, rand(256)][rand(7)]!;
        break;
      case 5: // TLV tag / length bytes (short: offsets 5..8, extended: 7..10)
        if (b.length > 10) b[5 + rand(6)] = [0x53, 0x81, 0x82, 0x80, 0x83, 0x00, 0x7f, 0xff, rand(256)][rand(9)]!;
        break;
      case 6: // mode byte
        if (b.length > 8) b[b[4] === 0 ? (b[8] === 0x82 ? 11 : b[8] === 0x81 ? 10 : 9) : (b[6] === 0x82 ? 9 : b[6] === 0x81 ? 8 : 7)] = [1, 2, 3, 0xf2, 0xf3, rand(256)][rand(6)]!;
        break;
      case 7: // delete a byte
        if (b.length) {
          const i = rand(b.length);
          b = Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]);
        }
        break;
      default: // random short garbage
        b = Uint8Array.from({ length: rand(12) }, () => rand(256));
    }
  }
  return b;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("fuzz", () => {
  it(`${MUTATIONS} mutated APDUs into the decoders: UiccError with a documented code only`, () => {
    const rand = prng(0x5eed1);
    const base = seeds();
    let decoded = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const bytes = mutate(base[rand(base.length)]!, rand);
      for (const decode of [decodeCommandApdu, decodeAuthenticate, decodeAuthenticateResponse] as ((b: Uint8Array) => unknown)[]) {
        try {
          decode(bytes);
          if (decode === decodeAuthenticate) decoded++;
        } catch (e) {
          if (!(e instanceof UiccError) || !CODES.has(e.code)) throw new Error(`${decode.name} threw ${String(e)} on ${hex(bytes)}`);
        }
      }
      const cmd = (() => {
        try {
          return decodeCommandApdu(bytes);
        } catch {
          return undefined;
        }
      })();
      if (cmd) expect(decodeCommandApdu(encodeCommandApdu(cmd)).data).toEqual(cmd.data);
    }
    expect(decoded).toBeGreaterThan(MUTATIONS / 20); // the mutations reach past the framing
  });

  it(`${MUTATIONS} mutated APDUs into the card: it never throws, answers a known SW, never a TGK`, () => {
    const rand = prng(0xc4bd);
    const card = new SoftCard(KEK, { core, capacity: 4 });
    const base = seeds();
    // Some valid traffic first, so TEK generation and deletion paths are live.
    for (const s of base.slice(0, 2)) card.process(s);
    const seen = new Map<number, number>();
    for (let i = 0; i < MUTATIONS; i++) {
      const useSeed = rand(50) === 0;
      const apdu = useSeed ? base[rand(base.length)]! : mutate(base[rand(base.length)]!, rand);
      let response: Uint8Array;
      try {
        response = card.process(apdu);
      } catch (e) {
        throw new Error(`the card threw ${String(e)} on ${hex(apdu)}`);
      }
      const { sw, data } = decodeResponseApdu(response);
      expect(KNOWN_SWS).toContain(sw);
      if (sw !== SW.OK) expect(data.length).toBe(0);
      seen.set(sw, (seen.get(sw) ?? 0) + 1);
      for (const g of TGKS) if (contains(response, g.tgk)) throw new Error(`a response holds TGK ${g.tgkId}`);
      if (i % 5000 === 0 && card.tgkCount < 2) card.process(base[0]!); // replayed: 9865, keeps state realistic
    }
    for (const sw of [SW.OK, SW.WRONG_LENGTH, SW.INCORRECT_DATA, SW.INCORRECT_P1P2, SW.INS_NOT_SUPPORTED, SW.CLA_NOT_SUPPORTED, SW.KEY_NOT_FOUND, SW.FRESHNESS]) {
      expect(seen.get(sw) ?? 0, `SW ${sw.toString(16)}`).toBeGreaterThan(0);
    }
  });
});
