// MIKEY codec (RFC 3830 §6): the docs/key-derivation.md §5 I_MESSAGE field by field and byte for byte, round
// trips of every payload type with random field values, three TGKs in a NULL-encrypted KEMAC, and
// every MikeyError code reached with a crafted message.
import { createCipheriv, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CertType, CsIdMapType, DataType, DH_VALUE_LENGTH, DhGroup, EncrAlg, ErrorNo, ExtensionType, HASH_LENGTH, HashFunc,
  IdType, KeyDataType, KeyIdType, KvType, MacAlg, MIKEY_CODEC_ERROR_CODES, MikeyError, PayloadType, ProtType,
  SrtpAuthAlg, SrtpEncrAlg, SrtpParamType, TsType, buildSrtpParams, decodeKeyDataList, decodeMessage,
  encodeKeyDataList, encodeMessage, encodeMessageWithLayout, readSrtpPolicy, timestamp64,
  type KeyDataPayload, type KeyValidity, type MikeyErrorCode, type MikeyHeader, type MikeyMessage, type MikeyPayload,
} from "../src/mikey/codec/index.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// docs/key-derivation.md §5, copied literally.
const VECTOR = {
  hdr: "0100050012345678010000cafebabe00000000",
  t: "0b00eb0a1b2c3d4e5f60",
  rand: "0a10202122232425262728292a2b2c2d2e2f",
  sp: "010000002100010101011002010103011404010e0501000601000701010801010a01010b010a",
  kemac: "00010019ee55e1afe78a35c7c0a3e53a65f733288782fd79c7831c6951 01 3ffd99aef156c8e324b6dc444136f41ed3ded7dc",
  encrKey: "4f0f9a1d55a4b2a9bcc067920f623e4f",
  authKey: "97569f471c508d963847a6fada69781f38067547",
  iv: "34c4f10670be9496a1e31037804d0000",
};
const I_MESSAGE = hex(VECTOR.hdr + VECTOR.t + VECTOR.rand + VECTOR.sp + VECTOR.kemac);

/** xorshift32: deterministic random field values. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  const int = (n: number) => next() % n;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const u32 = () => next();
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { int, bytes, u32, pick };
}
type Rand = ReturnType<typeof prng>;

function randomKv(r: Rand): KeyValidity {
  switch (r.int(3)) {
    case 0: return { kvType: KvType.Null };
    case 1: return { kvType: KvType.Spi, spi: r.bytes(r.int(9)) };
    default: return { kvType: KvType.Interval, validFrom: r.bytes(r.int(7)), validTo: r.bytes(r.int(7)) };
  }
}

function randomKeyData(r: Rand): KeyDataPayload {
  const keyType = r.pick([KeyDataType.Tgk, KeyDataType.TgkSalt, KeyDataType.Tek, KeyDataType.TekSalt]);
  const k: KeyDataPayload = { keyType, key: r.bytes(r.int(40)), kv: randomKv(r) };
  if (keyType === KeyDataType.TgkSalt || keyType === KeyDataType.TekSalt) k.salt = r.bytes(r.int(16));
  return k;
}

/** One random payload of `type`, every field random within its range. */
function randomPayload(r: Rand, type: PayloadType): MikeyPayload {
  switch (type) {
    case PayloadType.T: {
      const tsType = r.pick([TsType.NtpUtc, TsType.Ntp, TsType.Counter]);
      const value = tsType === TsType.Counter ? BigInt(r.u32()) : (BigInt(r.u32()) << 32n) | BigInt(r.u32());
      return { type, tsType, value };
    }
    case PayloadType.RAND: return { type, rand: r.bytes(r.int(40)) };
    case PayloadType.ID: return { type, idType: r.pick([IdType.Nai, IdType.Uri, IdType.ByteString]), id: r.bytes(r.int(40)) };
    case PayloadType.CERT: return { type, certType: r.pick([CertType.X509v3, CertType.X509v3Url, CertType.X509v3Sign, CertType.X509v3Encr]), cert: r.bytes(r.int(60)) };
    case PayloadType.CHASH: {
      const hashFunc = r.pick([HashFunc.Sha1, HashFunc.Md5]);
      return { type, hashFunc, hash: r.bytes(HASH_LENGTH[hashFunc]!) };
    }
    case PayloadType.PKE: return { type, cache: r.int(4), data: r.bytes(r.int(60)) };
    case PayloadType.DH: {
      const group = r.pick([DhGroup.Oakley5, DhGroup.Oakley1, DhGroup.Oakley2]);
      return { type, group, value: r.bytes(DH_VALUE_LENGTH[group]!), kv: randomKv(r) };
    }
    case PayloadType.SIGN: return { type, signType: r.int(16), signature: r.bytes(r.int(80)) };
    case PayloadType.SP:
      return { type, policyNo: r.int(256), protType: ProtType.Srtp, params: Array.from({ length: r.int(8) }, () => ({ type: r.int(256), value: r.bytes(r.int(5)) })) };
    case PayloadType.KEMAC: {
      const macAlg = r.pick([MacAlg.Null, MacAlg.HmacSha1_160]);
      return { type, encrAlg: r.int(256), encrData: r.bytes(r.int(60)), macAlg, mac: r.bytes(macAlg === MacAlg.Null ? 0 : 20) };
    }
    case PayloadType.V: {
      const macAlg = r.pick([MacAlg.Null, MacAlg.HmacSha1_160]);
      return { type, macAlg, mac: r.bytes(macAlg === MacAlg.Null ? 0 : 20) };
    }
    case PayloadType.ERR: return { type, errorNo: r.int(256) };
    case PayloadType.GeneralExtension:
      if (r.int(2) === 0) {
        return { type, extType: ExtensionType.KeyId, keyIds: Array.from({ length: r.int(4) }, () => ({ keyIdType: r.int(256), keyId: r.bytes(r.int(8)) })) };
      }
      return { type, extType: r.pick([0, 1, 2, 4, 5, 7, 200]), data: r.bytes(r.int(30)) };
    default:
      throw new Error(`no generator for ${type}`);
  }
}

const { T, RAND, ID, CERT, SP, KEMAC, CHASH, PKE, DH, SIGN, V, ERR, GeneralExtension: EXT } = PayloadType;

/** A payload-type sequence RFC 3830 allows for the data type, optional parts drawn at random. */
function randomShape(r: Rand, dataType: DataType): PayloadType[] {
  const opt = (t: PayloadType) => (r.int(2) ? [t] : []);
  const rep = (t: PayloadType, max: number) => Array.from({ length: r.int(max + 1) }, () => t);
  const ext = () => (r.int(3) === 0 ? [EXT] : []);
  switch (dataType) {
    case DataType.PskInit: return [T, ...ext(), ...opt(RAND), ...rep(ID, 2), ...ext(), ...rep(SP, 2), KEMAC];
    case DataType.PskVerify:
    case DataType.PkVerify: return [T, ...rep(ID, 2), ...ext(), V];
    case DataType.PkInit: return [T, ...opt(RAND), ...opt(CERT), ...opt(ID), ...ext(), ...rep(SP, 2), ...opt(KEMAC), ...opt(CHASH), ...opt(PKE), SIGN];
    case DataType.DhInit: return [T, ...opt(RAND), ...opt(ID), ...rep(SP, 2), DH, ...ext(), SIGN];
    case DataType.DhResponse: return [T, ...opt(CERT), ID, DH, DH, SIGN];
    case DataType.Error: return [T, ...rep(ERR, 3), ...rep(SP, 1), ...(r.int(2) ? [r.pick([V, SIGN])] : [])];
  }
}

function randomHeader(r: Rand, dataType: DataType): MikeyHeader {
  if (r.int(4) === 0) {
    return { version: 1, dataType, v: r.int(2) === 1, prfFunc: r.int(128), csbId: r.u32(), csIdMapType: CsIdMapType.Empty, csCount: r.int(256), srtpMap: [] };
  }
  const srtpMap = Array.from({ length: r.int(5) }, () => ({ policyNo: r.int(256), ssrc: r.u32(), roc: r.u32() }));
  return { version: 1, dataType, v: r.int(2) === 1, prfFunc: r.int(128), csbId: r.u32(), csIdMapType: CsIdMapType.SrtpId, csCount: srtpMap.length, srtpMap };
}

function randomMessage(r: Rand, dataType = r.int(7) as DataType): MikeyMessage {
  return { header: randomHeader(r, dataType), payloads: randomShape(r, dataType).map((t) => randomPayload(r, t)) };
}

const model = (m: MikeyMessage): MikeyMessage => ({ header: m.header, payloads: m.payloads });

function codeOf(f: () => unknown): MikeyErrorCode | "no error" {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MikeyError);
    return (e as MikeyError).code;
  }
  return "no error";
}

describe("docs/key-derivation.md §5 I_MESSAGE", () => {
  it("is 135 bytes and decodes field by field", () => {
    expect(I_MESSAGE.length).toBe(135);
    const m = decodeMessage(I_MESSAGE);
    expect(m.header).toEqual({
      version: 1, dataType: DataType.PskInit, v: false, prfFunc: 0, csbId: 0x12345678, csIdMapType: CsIdMapType.SrtpId,
      csCount: 1, srtpMap: [{ policyNo: 0, ssrc: 0xcafebabe, roc: 0 }],
    });
    expect(m.headerLength).toBe(19);
    expect(m.payloads.map((p) => p.type)).toEqual([T, RAND, SP, KEMAC]);
    const [t, rand, sp, kemac] = m.payloads;
    expect(t).toEqual({ type: T, tsType: TsType.NtpUtc, value: 0xeb0a1b2c3d4e5f60n });
    expect(toHex(timestamp64(t as never))).toBe("eb0a1b2c3d4e5f60");
    expect(rand).toEqual({ type: RAND, rand: hex("202122232425262728292a2b2c2d2e2f") });
    expect(sp?.type === SP && sp.policyNo === 0 && sp.protType === ProtType.Srtp && sp.params.length === 11).toBe(true);
    if (sp?.type !== SP) throw new Error("unreachable");
    expect(readSrtpPolicy(sp.params)).toEqual({
      policy: {
        encrAlg: SrtpEncrAlg.AesCm, encrKeyLen: 16, authAlg: SrtpAuthAlg.HmacSha1, authKeyLen: 20, saltKeyLen: 14, prf: 0,
        keyDerivationRate: 0, srtpEncryption: 1, srtcpEncryption: 1, srtpAuthentication: 1, authTagLen: 10,
      },
      unknown: [],
    });
    expect(buildSrtpParams(readSrtpPolicy(sp.params).policy)).toEqual(sp.params);
    expect(kemac).toEqual({
      type: KEMAC, encrAlg: EncrAlg.AesCm128, encrData: hex("ee55e1afe78a35c7c0a3e53a65f733288782fd79c7831c6951"),
      macAlg: MacAlg.HmacSha1_160, mac: hex("3ffd99aef156c8e324b6dc444136f41ed3ded7dc"),
    });
    expect(m.layout.map((s) => [s.type, s.start, s.end])).toEqual([[T, 19, 29], [RAND, 29, 47], [SP, 47, 85], [KEMAC, 85, 135]]);
    expect(m.macOffset).toBe(115);
  });

  it("the MAC covers bytes [0, macOffset) and the decrypted KEMAC holds the TGK with MKI 00000001", () => {
    const m = decodeMessage(I_MESSAGE);
    const mac = createHmac("sha1", hex(VECTOR.authKey)).update(I_MESSAGE.subarray(0, m.macOffset)).digest();
    expect(toHex(mac)).toBe("3ffd99aef156c8e324b6dc444136f41ed3ded7dc");
    const kemac = m.payloads[3];
    if (kemac?.type !== KEMAC) throw new Error("unreachable");
    const d = createCipheriv("aes-128-ctr", hex(VECTOR.encrKey), hex(VECTOR.iv));
    const plain = new Uint8Array(Buffer.concat([d.update(kemac.encrData), d.final()]));
    expect(decodeKeyDataList(plain)).toEqual([
      { keyType: KeyDataType.Tgk, key: hex("101112131415161718191a1b1c1d1e1f"), kv: { kvType: KvType.Spi, spi: hex("00000001") } },
    ]);
    expect(toHex(encodeKeyDataList(decodeKeyDataList(plain)))).toBe(toHex(plain));
  });

  it("re-encodes byte for byte, with the same layout and MAC offset", () => {
    const m = decodeMessage(I_MESSAGE);
    const e = encodeMessageWithLayout(model(m));
    expect(toHex(e.bytes)).toBe(toHex(I_MESSAGE));
    expect(e.layout).toEqual(m.layout);
    expect(e.macOffset).toBe(115);
  });
});

describe("round trips", () => {
  it("every payload type in every data type, random field values (2000 messages)", () => {
    const r = prng(0xc0dec);
    const seen = new Set<PayloadType>();
    for (let i = 0; i < 2000; i++) {
      const msg = randomMessage(r);
      msg.payloads.forEach((p) => seen.add(p.type));
      const bytes = encodeMessage(msg);
      const back = decodeMessage(bytes);
      expect(model(back)).toEqual(msg);
      expect(toHex(encodeMessage(back))).toBe(toHex(bytes));
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([KEMAC, PKE, DH, SIGN, T, ID, CERT, CHASH, V, SP, RAND, ERR, EXT]);
  });

  it("Key data sub-payload lists (500 lists of 0–5)", () => {
    const r = prng(0x4e7);
    for (let i = 0; i < 500; i++) {
      const list = Array.from({ length: r.int(6) }, () => randomKeyData(r));
      const bytes = encodeKeyDataList(list);
      expect(decodeKeyDataList(bytes)).toEqual(list);
    }
  });

  it("SRTP policy helpers: build → read is the identity, key derivation rate in 1–4 bytes", () => {
    const r = prng(0x5b);
    for (let i = 0; i < 300; i++) {
      const policy = { encrAlg: r.int(7), encrKeyLen: r.int(256), keyDerivationRate: r.pick([0, 255, 256, 65535, 1 << 24, 0xffffffff]), rocTransmissionRate: r.int(65536), aeadAuthTagLen: 16 };
      const params = buildSrtpParams(policy);
      expect(params.find((p) => p.type === SrtpParamType.RocTransmissionRate)?.value.length).toBe(2);
      expect(readSrtpPolicy(params).policy).toEqual(policy);
    }
    expect(readSrtpPolicy([{ type: 99, value: hex("01") }]).unknown).toEqual([{ type: 99, value: hex("01") }]);
  });

  it("a COUNTER timestamp is zero-padded to 64 bits", () => {
    expect(toHex(timestamp64({ type: T, tsType: TsType.Counter, value: 7n }))).toBe("0000000000000007");
  });
});

describe("three TGKs in a NULL-encrypted KEMAC", () => {
  it("decodes the message, then the three Key data sub-payloads", () => {
    const tgks: KeyDataPayload[] = [1, 2, 3].map((i) => ({
      keyType: KeyDataType.Tgk, key: new Uint8Array(16).fill(i), kv: { kvType: KvType.Spi, spi: Uint8Array.of(0, 0, 0, i) },
    }));
    const msg: MikeyMessage = {
      header: { version: 1, dataType: DataType.PskInit, v: false, prfFunc: 0, csbId: 0xdeadbeef, csIdMapType: CsIdMapType.Empty, csCount: 0, srtpMap: [] },
      payloads: [
        { type: T, tsType: TsType.Counter, value: 42n },
        { type: RAND, rand: new Uint8Array(16).fill(9) },
        { type: EXT, extType: ExtensionType.KeyId, keyIds: [{ keyIdType: KeyIdType.MskId, keyId: hex("00010002") }] },
        { type: KEMAC, encrAlg: EncrAlg.Null, encrData: encodeKeyDataList(tgks), macAlg: MacAlg.Null, mac: new Uint8Array(0) },
      ],
    };
    const m = decodeMessage(encodeMessage(msg));
    const kemac = m.payloads[3];
    if (kemac?.type !== KEMAC) throw new Error("unreachable");
    expect(kemac.encrData.length).toBe(3 * 25);
    const keys = decodeKeyDataList(kemac.encrData);
    expect(keys).toEqual(tgks);
    expect(keys.map((k) => (k.kv.kvType === KvType.Spi ? toHex(k.kv.spi) : ""))).toEqual(["00000001", "00000002", "00000003"]);
    expect(m.payloads[2]).toEqual(msg.payloads[2]);
  });
});

describe("every error code, from a crafted message", () => {
  const patched = (at: number, ...b: number[]) => {
    const x = I_MESSAGE.slice();
    b.forEach((v, i) => (x[at + i] = v));
    return x;
  };
  const psk = (payloads: MikeyPayload[], dataType = DataType.PskInit): MikeyMessage => ({
    header: { version: 1, dataType, v: false, prfFunc: 0, csbId: 1, csIdMapType: CsIdMapType.SrtpId, csCount: 0, srtpMap: [] },
    payloads,
  });
  const t: MikeyPayload = { type: T, tsType: TsType.NtpUtc, value: 1n };
  const rand: MikeyPayload = { type: RAND, rand: new Uint8Array(16) };
  const kemac: MikeyPayload = { type: KEMAC, encrAlg: 0, encrData: new Uint8Array(0), macAlg: 0, mac: new Uint8Array(0) };
  const raw = (m: MikeyMessage) => encodeMessage(m, { skipOrderCheck: true });
  // The KEMAC starts at 85 (next, encr alg, len16, 25 bytes, MAC alg at 114); SP at 47 (len at 50, first TLV at 52).
  const cases: Array<[string, () => unknown, MikeyErrorCode]> = [
    ["truncated in HDR", () => decodeMessage(I_MESSAGE.subarray(0, 5)), "ERR_TRUNCATED"],
    ["truncated in the KEMAC MAC", () => decodeMessage(I_MESSAGE.subarray(0, 134)), "ERR_TRUNCATED"],
    ["KEMAC encr data length past the end", () => decodeMessage(patched(87, 0xff, 0xff)), "ERR_TRUNCATED"],
    ["empty input", () => decodeMessage(new Uint8Array(0)), "ERR_TRUNCATED"],
    ["over 64 KiB", () => decodeMessage(new Uint8Array(65537)), "ERR_TOO_LARGE"],
    ["version 2", () => decodeMessage(patched(0, 2)), "ERR_VERSION"],
    ["data type 7 (DHHMAC, not RFC 3830)", () => decodeMessage(patched(1, 7)), "ERR_UNKNOWN_DATA_TYPE"],
    ["CS ID map type 2", () => decodeMessage(patched(9, 2)), "ERR_UNKNOWN_MAP_TYPE"],
    ["first payload 13", () => decodeMessage(patched(2, 13)), "ERR_UNKNOWN_PAYLOAD"],
    ["Key data (20) as a message payload", () => decodeMessage(patched(2, 20)), "ERR_UNKNOWN_PAYLOAD"],
    ["RAND before T", () => decodeMessage(raw(psk([rand, t, kemac]))), "ERR_PAYLOAD_ORDER"],
    ["two T", () => decodeMessage(raw(psk([t, t, kemac]))), "ERR_PAYLOAD_ORDER"],
    ["two KEMAC", () => decodeMessage(raw(psk([t, rand, kemac, kemac]))), "ERR_PAYLOAD_ORDER"],
    ["no KEMAC", () => decodeMessage(raw(psk([t, rand]))), "ERR_PAYLOAD_ORDER"],
    ["no payload at all", () => decodeMessage(raw(psk([]))), "ERR_PAYLOAD_ORDER"],
    ["EXT after the KEMAC", () => decodeMessage(raw(psk([t, kemac, { type: EXT, extType: 0, data: new Uint8Array(1) }]))), "ERR_PAYLOAD_ORDER"],
    ["three ID", () => decodeMessage(raw(psk([t, ...[0, 1, 2].map(() => ({ type: ID, idType: 0, id: new Uint8Array(1) }) as MikeyPayload), kemac]))), "ERR_PAYLOAD_ORDER"],
    ["SIGN in a PSK message", () => decodeMessage(raw(psk([t, { type: SIGN, signType: 0, signature: new Uint8Array(4) }]))), "ERR_PAYLOAD_ORDER"],
    ["V in an I_MESSAGE", () => decodeMessage(raw(psk([t, { type: V, macAlg: 0, mac: new Uint8Array(0) }]))), "ERR_PAYLOAD_ORDER"],
    ["a byte after the Last payload", () => decodeMessage(Uint8Array.of(...I_MESSAGE, 0)), "ERR_TRAILING_DATA"],
    ["SP TLV past the param length", () => decodeMessage(patched(50, 0, 32)), "ERR_LENGTH"],
    ["Key ID entry past the extension length", () => decodeMessage(raw(psk([t, { type: EXT, extType: 0, data: hex("0105aabb") }, kemac])).map((b, i) => (i === 21 ? 3 : b))), "ERR_LENGTH"],
    ["TS type 3", () => decodeMessage(patched(20, 3)), "ERR_UNKNOWN_TS_TYPE"],
    ["ID type 9", () => decodeMessage(raw(psk([t, { type: ID, idType: 0, id: new Uint8Array(1) }, kemac])).map((b, i) => (i === 21 ? 9 : b))), "ERR_UNKNOWN_ID_TYPE"],
    ["CERT type 4", () => decodeMessage(raw(psk([t, { type: CERT, certType: 0, cert: new Uint8Array(1) }, kemac], DataType.PkInit)).map((b, i) => (i === 21 ? 4 : b))), "ERR_UNKNOWN_ID_TYPE"],
    ["SP prot type 1", () => decodeMessage(patched(49, 1)), "ERR_UNKNOWN_PROT_TYPE"],
    ["KEMAC MAC alg 2", () => decodeMessage(patched(114, 2)), "ERR_UNKNOWN_ALGORITHM"],
    ["Key data type 4", () => decodeKeyDataList(hex("00 40 0001 aa")), "ERR_UNKNOWN_KEY_TYPE"],
    ["KV type 3", () => decodeKeyDataList(hex("00 03 0001 aa")), "ERR_UNKNOWN_KV_TYPE"],
    ["Key data chain without Last", () => decodeKeyDataList(hex("14 00 0001 aa")), "ERR_TRUNCATED"],
    ["Key data next payload 5", () => decodeKeyDataList(hex("05 00 0001 aa 00 00 0000")), "ERR_UNKNOWN_PAYLOAD"],
    ["bytes after the last Key data", () => decodeKeyDataList(hex("00 00 0001 aa ff")), "ERR_TRAILING_DATA"],
    ["SRTP encr alg in 2 bytes", () => readSrtpPolicy([{ type: SrtpParamType.EncrAlg, value: hex("0001") }]), "ERR_SP_PARAM"],
    ["SRTP parameter repeated", () => readSrtpPolicy([{ type: 1, value: hex("10") }, { type: 1, value: hex("10") }]), "ERR_SP_PARAM"],
    ["encode: CSB ID 2^32", () => encodeMessage({ ...psk([t, kemac]), header: { ...psk([]).header, csbId: 2 ** 32 } }), "ERR_ENCODE"],
    ["encode: RAND of 256 bytes", () => encodeMessage(psk([t, { type: RAND, rand: new Uint8Array(256) }, kemac])), "ERR_ENCODE"],
    ["encode: MAC of the wrong length", () => encodeMessage(psk([t, { ...kemac, macAlg: MacAlg.HmacSha1_160 } as MikeyPayload])), "ERR_ENCODE"],
    ["encode: #CS disagrees with the map", () => encodeMessage({ ...psk([t, kemac]), header: { ...psk([]).header, csCount: 2 } }), "ERR_ENCODE"],
    ["encode: payload order", () => encodeMessage(psk([rand, t, kemac])), "ERR_ENCODE"],
    ["encode: TGK with a salt", () => encodeKeyDataList([{ keyType: KeyDataType.Tgk, key: new Uint8Array(1), salt: new Uint8Array(1), kv: { kvType: KvType.Null } }]), "ERR_ENCODE"],
    ["encode: over 64 KiB", () => encodeMessage(psk([t, { type: EXT, extType: 0, data: new Uint8Array(65535) }, kemac])), "ERR_ENCODE"],
    ["encode: SIGN not last", () => encodeMessage(psk([t, { type: SIGN, signType: 0, signature: new Uint8Array(0) }, kemac]), { skipOrderCheck: true }), "ERR_ENCODE"],
  ];
  it.each(cases)("%s → %s", (_name, f, code) => {
    expect(codeOf(f)).toBe(code);
  });
  it("the cases cover every documented code", () => {
    expect(new Set(cases.map((c) => c[2]))).toEqual(new Set(MIKEY_CODEC_ERROR_CODES));
  });
  it("accepts what it should: an ERR message, an update without RAND, a Key ID extension before T", () => {
    const err = decodeMessage(encodeMessage(psk([t, { type: ERR, errorNo: ErrorNo.InvalidTs }], DataType.Error)));
    expect(err.payloads[1]).toEqual({ type: ERR, errorNo: ErrorNo.InvalidTs });
    expect(decodeMessage(encodeMessage(psk([t, kemac]))).payloads.length).toBe(2);
    const ext: MikeyPayload = { type: EXT, extType: ExtensionType.KeyId, keyIds: [{ keyIdType: KeyIdType.MbmsKeyDomainId, keyId: hex("123456") }] };
    expect(decodeMessage(encodeMessage(psk([ext, t, rand, kemac]))).payloads[0]).toEqual(ext);
  });
});
