// Fuzz: over a million mutated MIKEY messages and KEMAC Key data lists (bit flips, truncations, length
// fields pointing past the end or huge, payload-type bytes randomised, payloads repeated or dropped,
// random bytes appended) into decodeMessage and decodeKeyDataList. Only MikeyError with a documented
// code is ever thrown, and whatever decodes re-encodes to the same bytes (the encoding is canonical
// except for reserved bits, which only ERR and DH carry).
import { describe, expect, it } from "vitest";
import {
  CsIdMapType, DataType, DhGroup, KeyDataType, KvType, MIKEY_ERROR_CODES, MikeyError, PayloadType, TsType,
  decodeKeyDataList, decodeMessage, encodeKeyDataList, encodeMessage, encodeMessageWithLayout,
  type KeyDataPayload, type KeyValidity, type MikeyPayload,
} from "../src/mikey/codec/index.js";
import { prng } from "./helpers/prng.js";

const MUTATIONS = Number(process.env.FUZZ_MUTATIONS ?? 1_050_000);
const CODES = new Set<string>(MIKEY_ERROR_CODES);


const I_MESSAGE = Uint8Array.from(Buffer.from(
  "0100050012345678010000cafebabe00000000" + "0b00eb0a1b2c3d4e5f60" + "0a10202122232425262728292a2b2c2d2e2f" +
  "010000002100010101011002010103011404010e0501000601000701010801010a01010b010a" +
  "00010019ee55e1afe78a35c7c0a3e53a65f733288782fd79c7831c6951013ffd99aef156c8e324b6dc444136f41ed3ded7dc", "hex"));

function corpus(rand: (n: number) => number) {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rand(256));
  const kv = (): KeyValidity => [
    { kvType: KvType.Null } as const,
    { kvType: KvType.Spi, spi: bytes(rand(7)) } as const,
    { kvType: KvType.Interval, validFrom: bytes(6), validTo: bytes(6) } as const,
  ][rand(3)]!;
  const keyData = (): KeyDataPayload => {
    const keyType = rand(4) as KeyDataType;
    return keyType & 1 ? { keyType, key: bytes(16), salt: bytes(14), kv: kv() } : { keyType, key: bytes(rand(33)), kv: kv() };
  };
  const t: MikeyPayload = { type: PayloadType.T, tsType: TsType.Counter, value: 7n };
  const sp: MikeyPayload = { type: PayloadType.SP, policyNo: 1, protType: 0, params: [{ type: 0, value: bytes(1) }, { type: 6, value: bytes(2) }] };
  const ext: MikeyPayload = { type: PayloadType.GeneralExtension, extType: 3, keyIds: [{ keyIdType: 0, keyId: bytes(3) }, { keyIdType: 1, keyId: bytes(4) }] };
  const id = (): MikeyPayload => ({ type: PayloadType.ID, idType: rand(3), id: bytes(rand(20)) });
  const kemac = (list: KeyDataPayload[]): MikeyPayload => ({ type: PayloadType.KEMAC, encrAlg: 1, encrData: encodeKeyDataList(list), macAlg: 1, mac: bytes(20) });
  const header = (dataType: DataType) => ({
    version: 1, dataType, v: rand(2) === 1, prfFunc: 0, csbId: rand(2 ** 31),
    ...(rand(2)
      ? { csIdMapType: CsIdMapType.SrtpId, csCount: 2, srtpMap: [{ policyNo: 1, ssrc: 5, roc: 0 }, { policyNo: 1, ssrc: 6, roc: 1 }] }
      : { csIdMapType: CsIdMapType.Empty, csCount: 0, srtpMap: [] }),
  });
  const keyLists = Array.from({ length: 32 }, () => Array.from({ length: rand(4) + 1 }, keyData));
  const messages = [
    ...keyLists.map((l) => ({ header: header(DataType.PskInit), payloads: [t, { type: PayloadType.RAND, rand: bytes(16) }, id(), id(), ext, sp, kemac(l)] as MikeyPayload[] })),
    { header: header(DataType.PskVerify), payloads: [t, id(), { type: PayloadType.V, macAlg: 1, mac: bytes(20) }] as MikeyPayload[] },
    { header: header(DataType.Error), payloads: [t, { type: PayloadType.ERR, errorNo: 1 }, sp] as MikeyPayload[] },
    { header: header(DataType.PkInit), payloads: [t, { type: PayloadType.CERT, certType: 0, cert: bytes(30) }, sp, kemac(keyLists[0]!), { type: PayloadType.CHASH, hashFunc: 1, hash: bytes(16) }, { type: PayloadType.PKE, cache: 1, data: bytes(20) }, { type: PayloadType.SIGN, signType: 0, signature: bytes(40) }] as MikeyPayload[] },
    { header: header(DataType.DhResponse), payloads: [t, id(), { type: PayloadType.DH, group: DhGroup.Oakley1, value: bytes(96), kv: kv() }, { type: PayloadType.DH, group: DhGroup.Oakley1, value: bytes(96), kv: kv() }, { type: PayloadType.SIGN, signType: 1, signature: bytes(10) }] as MikeyPayload[] },
  ].map((m) => {
    const e = encodeMessageWithLayout(m);
    return { bytes: e.bytes, starts: [2, ...e.layout.map((s) => s.start)] };
  });
  messages.push({ bytes: I_MESSAGE, starts: [2, 19, 29, 47, 85] });
  return { messages, keyLists: keyLists.map((l) => ({ bytes: encodeKeyDataList(l), starts: [] as number[] })) };
}

/** Mutates src into out and returns the new length (≤ out.length). */
function mutate(src: { bytes: Uint8Array; starts: number[] }, out: Uint8Array, rand: (n: number) => number): number {
  const s = src.bytes;
  out.set(s);
  let len = s.length;
  const at = () => rand(len);
  switch (rand(8)) {
    case 0: // one to three bit flips
      for (let k = rand(3) + 1; k > 0; k--) out[at()]! ^= 1 << rand(8);
      break;
    case 1: // truncation
      len = rand(len);
      break;
    case 2: { // a length-like field (bytes 1..4 of a payload) set past the end or huge
      const p = (src.starts.length ? src.starts[rand(src.starts.length)]! : rand(len)) + 1 + rand(4);
      if (p < len) out[p] = rand(2) ? 0xff : rand(256);
      if (p + 1 < len && rand(2)) out[p + 1] = rand(2) ? 0xff : (s[p + 1]! + 1 + rand(8)) & 0xff;
      break;
    }
    case 3: // a next-payload (type) byte randomised, often to a near-valid value
      out[src.starts.length ? src.starts[rand(src.starts.length)]! : 0] = rand(2) ? rand(26) : rand(256);
      break;
    case 4: { // random bytes appended
      const n = rand(8) + 1;
      for (let i = 0; i < n; i++) out[len + i] = rand(256);
      len += n;
      break;
    }
    case 5: // random tail
      for (let i = at(); i < len; i++) out[i] = rand(256);
      break;
    case 6: // header bytes (version, data type, next, V/PRF, #CS, map type)
      out[[0, 1, 2, 3, 8, 9][rand(6)]!] = rand(2) ? rand(12) : rand(256);
      break;
    default: { // a payload repeated or dropped (splice at payload boundaries)
      if (src.starts.length < 3) { out[at()] = rand(256); break; }
      const i = 1 + rand(src.starts.length - 1);
      const a = src.starts[i]!, b = src.starts[i + 1] ?? s.length;
      if (rand(2)) {
        out.set(s.subarray(a, b), b);
        out.set(s.subarray(b), b + (b - a));
        len += b - a;
      } else {
        out.set(s.subarray(b), a);
        len -= b - a;
      }
    }
  }
  return len;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("fuzzing the MIKEY decoder", () => {
  it(`${MUTATIONS} mutated messages and Key data lists: MikeyError with a documented code, or a canonical decode`, () => {
    const rand = prng(0x31e7);
    const { messages, keyLists } = corpus(rand);
    const work = new Uint8Array(4096);
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let decoded = 0;
    const started = performance.now();
    for (let i = 0; i < MUTATIONS && failures.length < 5; i++) {
      const keyData = (i & 3) === 3;
      const pool = keyData ? keyLists : messages;
      const len = mutate(pool[rand(pool.length)]!, work, rand);
      const input = work.slice(0, len);
      try {
        if (keyData) {
          const list = decodeKeyDataList(input);
          if (!sameBytes(encodeKeyDataList(list), input)) failures.push(`key data re-encodes differently: ${Buffer.from(input).toString("hex")}`);
        } else {
          const m = decodeMessage(input);
          const reserved = m.payloads.some((p) => p.type === PayloadType.ERR || p.type === PayloadType.DH);
          if (!reserved && !sameBytes(encodeMessage(m), input)) failures.push(`message re-encodes differently: ${Buffer.from(input).toString("hex")}`);
        }
        decoded++;
      } catch (e) {
        if (!(e instanceof MikeyError) || !CODES.has(e.code)) {
          failures.push(`${String(e)} on ${Buffer.from(input).toString("hex")}`);
        } else {
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    expect(failures).toEqual([]);
    expect(seconds).toBeLessThan(120);
    // The mutations reach deep: most decode-path codes occur, and some mutants still decode.
    expect([...codes.keys()]).toEqual(expect.arrayContaining([
      "ERR_TRUNCATED", "ERR_VERSION", "ERR_UNKNOWN_DATA_TYPE", "ERR_UNKNOWN_MAP_TYPE", "ERR_UNKNOWN_PAYLOAD",
      "ERR_PAYLOAD_ORDER", "ERR_TRAILING_DATA", "ERR_LENGTH", "ERR_UNKNOWN_TS_TYPE", "ERR_UNKNOWN_ID_TYPE",
      "ERR_UNKNOWN_PROT_TYPE", "ERR_UNKNOWN_ALGORITHM", "ERR_UNKNOWN_KEY_TYPE", "ERR_UNKNOWN_KV_TYPE",
    ]));
    expect(decoded).toBeGreaterThan(MUTATIONS / 20);
    if (process.env.FUZZ_REPORT) console.log({ mutations: MUTATIONS, seconds, decoded, codes: Object.fromEntries(codes) });
  }, 300_000);
});
