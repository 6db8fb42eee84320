/**
 * ISO/IEC 7816-4 command and response APDUs for AUTHENTICATE in the MBMS security context (TS 31.102
 * §7.1.2, as read through pysim and the Nokia TSY). Pure and browser-safe.
 *
 * Command:  CLA 00 ‖ INS 89 ‖ P1 80 ‖ P2 85 ‖ Lc ‖ `53` L ‖ mode ‖ mode data ‖ Le
 *   - short APDUs (Lc, Le one byte) when the data field fits in 255 bytes, else extended length
 *     (Lc = 00 ‖ 2 bytes, Le = 2 bytes): an MBMS key message with two or more TGKs is > 255 bytes. 31.102
 *     chaining for long MIKEY messages is unconfirmed, extended length is plain ISO.
 *   - P1 80 = "first block of authentication data" (the Nokia TSY); each command here is one block.
 *   - L is BER: one byte (< 0x80), or 81 xx (0x80..0xFF), or 82 xx xx (0x100..0xFFFF), minimal form only.
 *
 * Modes:
 *   01  key message delivery: data = an MBMS key message (our MIKEY PSK message carrying TGKs), in the
 *       place of TS 31.102 mode 01 "MSK Update" (which carries a MIKEY MSK message). Response, once the card
 *       verified the MAC and stored the TGKs: `53` L ‖ the plaintext of the message's sealed Key ID extension
 *       (an RFC 4563 Key ID list: service id, type 0, then TGK-ID ‖ valid-from ‖ expires-at per TGK, type 241;
 *       delivery-response.ts), what the KEK hides from the ME besides the TGKs: the ME needs it to schedule
 *       re-keys. No key.
 *   F2  traffic-key generation from an MKI: data = [CSB ID (4)] ‖ the MKI (TGK-ID ‖ TEK_RAND2); TGK-IDs are
 *       numbered per service, so the CSB ID names the service (without it the card answers only for a
 *       TGK-ID that one service alone holds, 6A80 otherwise). PRIVATE mode value, our
 *       documented deviation from 31.102: its mode 02 "MTK Generation" takes a MIKEY MTK message; the
 *       founding document's card derives the TEK from the MKI of the SRTP packet instead, and a private
 *       value keeps such calls from being mistaken for 31.102 mode 02 (docs/key-derivation.md §4).
 *       Response: `53` L ‖ TGK-ID (4) ‖ SRTP master key (16|32) ‖ master salt (14).
 *   F5  SK-TGK from an MKI (Alternative 2 split as the founding document's Figure 5 draws it): data as F2;
 *       the card derives SK-TGK = PRF(TGK, …, TGK_RAND) and the ME the TEK from it and TEK_RAND
 *       (docs/key-derivation.md §3). Private value. Response: `53` L ‖ TGK-ID (4) ‖ SK-TGK (16|32); 6985
 *       for a TGK of an Alternative 1 service.
 *   F3  key deletion: data = [CSB ID (4)] ‖ TGK-ID (4 bytes, big-endian). Private value (31.102 mode 03 deletes an MSK
 *       by Key Domain ID ‖ Key Group). Response: none.
 *   F4  sign key request: data = the MAC input of an HTTP key request (src/mbms/http-protocol.ts
 *       requestMacInput: method \n path \n user \n time \n nonce \n body, UTF-8). Private value, no
 *       31.102 counterpart (there the BM-SC authenticates the UE by HTTP digest over GBA keys). The card
 *       derives K_req = PRF(KEK, "mbms-srtp http request key v1", 20) from its own KEK (the shared
 *       requestMacFromKek) and answers `53` 14 ‖ HMAC-SHA1 (20 bytes). It signs only `POST /mbms/v1/keys`
 *       requests with a decimal time and a 32-hex nonce (6A80 otherwise; empty or over 8 KiB: 6700), so
 *       the ME gets a MAC oracle for key requests only, never K_req or the KEK.
 *
 * Response: [`53` L ‖ data] ‖ SW1 SW2. Data only with 9000; every other status word comes alone. (The
 * Nokia TSY puts a `DB` success tag inside the `53` TLV; its exact 31.102 coding is unconfirmed, and we do
 * not use it.)
 *
 * Decoders are strict and throw only UiccError (code + the status word a card answers for it).
 */
import { SW, UiccError, errorOfSw } from "./errors.js";

export const CLA_BASIC = 0x00;
export const INS_AUTHENTICATE_ODD = 0x89;
/** "First block of authentication data" (TS 31.102 §7.1.2, P1 = 80). */
export const P1_FIRST_BLOCK = 0x80;
/** b8 = 1 (application-specific), b3..b1 = 101: MBMS security context. */
export const P2_MBMS_CONTEXT = 0x85;
/** BER-TLV tag of the AUTHENTICATE data object, in commands and responses. */
export const TAG_AUTH_DATA = 0x53;

export const AuthMode = {
  /** TS 31.102 mode 01 (MSK Update) shape, carrying our MBMS key message. */
  KeyMessage: 0x01,
  /** Private: TEK + salt from an MKI (replaces 31.102 mode 02, MTK Generation). */
  TekFromMki: 0xf2,
  /** Private: delete one TGK by TGK-ID. */
  DeleteTgk: 0xf3,
  /** Private: SK-TGK from an MKI (Alternative 2, the ME derives the TEK). */
  SkTgkFromMki: 0xf5,
  /** Private: HMAC-SHA1 under K_req (from the card's KEK) over an HTTP key request's MAC input. */
  SignKeyRequest: 0xf4,
} as const;
export type AuthMode = (typeof AuthMode)[keyof typeof AuthMode];

const SHORT_MAX = 255;
const EXT_MAX = 65535;

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  /** Command data (Nc = data.length; empty when absent). */
  data: Uint8Array;
  /** Ne: expected response length, 1..65536; undefined when absent (cases 1 and 3). */
  le?: number;
  /** The encoding used extended length fields. */
  extended: boolean;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

/**
 * A copy in a fresh ArrayBuffer of exactly its length. Not `slice()`: on a Node Buffer that is a view of
 * the shared pool, and transferring its `.buffer` would detach the pool (and ship unrelated bytes).
 */
export function copyBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

const wrongLength = (m: string) => new UiccError("ERR_WRONG_LENGTH", m, SW.WRONG_LENGTH);
const incorrectData = (m: string) => new UiccError("ERR_INCORRECT_DATA", m, SW.INCORRECT_DATA);
const isByte = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xff;

/**
 * Encodes a command APDU: short form when data ≤ 255 bytes and Ne ≤ 256, else extended (ISO 7816-4 §5.1).
 * Throws UiccError ERR_ARGUMENT for values that do not fit.
 */
export function encodeCommandApdu(c: { cla: number; ins: number; p1: number; p2: number; data?: Uint8Array; le?: number }): Uint8Array {
  for (const [name, v] of [["CLA", c.cla], ["INS", c.ins], ["P1", c.p1], ["P2", c.p2]] as const) {
    if (!isByte(v)) throw new UiccError("ERR_ARGUMENT", `${name} is one byte`);
  }
  const data = c.data ?? new Uint8Array(0);
  const nc = data.length;
  const ne = c.le;
  if (nc > EXT_MAX) throw new UiccError("ERR_ARGUMENT", `command data is at most ${EXT_MAX} bytes, got ${nc}`);
  if (ne !== undefined && (!Number.isInteger(ne) || ne < 1 || ne > 65536)) throw new UiccError("ERR_ARGUMENT", "Le is 1..65536");
  const extended = nc > SHORT_MAX || (ne !== undefined && ne > 256);
  const out: number[] = [c.cla, c.ins, c.p1, c.p2];
  if (!extended) {
    if (nc > 0) out.push(nc);
    const head = Uint8Array.from(out);
    const apdu = new Uint8Array(head.length + nc + (ne !== undefined ? 1 : 0));
    apdu.set(head);
    apdu.set(data, head.length);
    if (ne !== undefined) apdu[apdu.length - 1] = ne & 0xff; // 256 → 00
    return apdu;
  }
  // Extended: 00 ‖ [Lc (2) ‖ data] ‖ [Le (2)]; case 1 is never extended.
  const apdu = new Uint8Array(5 + (nc > 0 ? 2 + nc : 0) + (ne !== undefined ? 2 : 0));
  apdu.set(out);
  let o = 4;
  apdu[o++] = 0;
  if (nc > 0) {
    apdu[o++] = nc >>> 8;
    apdu[o++] = nc & 0xff;
    apdu.set(data, o);
    o += nc;
  }
  if (ne !== undefined) {
    apdu[o++] = (ne >>> 8) & 0xff; // 65536 → 00 00
    apdu[o++] = ne & 0xff;
  }
  return apdu;
}

/**
 * Decodes a command APDU in any of the seven ISO 7816-4 cases (1, 2S, 3S, 4S, 2E, 3E, 4E). Anything else
 * (too short, Lc = 0 in extended form, a length that matches no case) is ERR_WRONG_LENGTH (6700).
 */
export function decodeCommandApdu(bytes: Uint8Array): CommandApdu {
  const n = bytes.length;
  if (n < 4) throw wrongLength(`a command APDU has at least 4 bytes, got ${n}`);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const base = { cla, ins, p1, p2 };
  if (n === 4) return { ...base, data: new Uint8Array(0), extended: false };
  const b5 = bytes[4]!;
  if (n === 5) return { ...base, data: new Uint8Array(0), le: b5 === 0 ? 256 : b5, extended: false };
  if (b5 !== 0) {
    if (n === 5 + b5) return { ...base, data: copyBytes(bytes.subarray(5)), extended: false };
    if (n === 6 + b5) {
      const le = bytes[n - 1]!;
      return { ...base, data: copyBytes(bytes.subarray(5, 5 + b5)), le: le === 0 ? 256 : le, extended: false };
    }
    throw wrongLength(`Lc ${b5} does not match an APDU of ${n} bytes`);
  }
  if (n < 7) throw wrongLength(`an extended APDU of ${n} bytes`);
  const w = (bytes[5]! << 8) | bytes[6]!;
  if (n === 7) return { ...base, data: new Uint8Array(0), le: w === 0 ? 65536 : w, extended: true };
  if (w === 0) throw wrongLength("extended Lc is 0");
  if (n === 7 + w) return { ...base, data: copyBytes(bytes.subarray(7)), extended: true };
  if (n === 9 + w) {
    const le = (bytes[n - 2]! << 8) | bytes[n - 1]!;
    return { ...base, data: copyBytes(bytes.subarray(7, 7 + w)), le: le === 0 ? 65536 : le, extended: true };
  }
  throw wrongLength(`extended Lc ${w} does not match an APDU of ${n} bytes`);
}

/** BER-TLV length bytes, minimal form. */
function berLength(len: number): number[] {
  if (len < 0x80) return [len];
  if (len <= 0xff) return [0x81, len];
  return [0x82, len >>> 8, len & 0xff];
}

/** `53` L ‖ value. */
export function encodeAuthTlv(value: Uint8Array): Uint8Array {
  if (value.length > EXT_MAX - 4) throw new UiccError("ERR_ARGUMENT", `a TLV value of ${value.length} bytes does not fit an APDU`);
  const head = [TAG_AUTH_DATA, ...berLength(value.length)];
  const out = new Uint8Array(head.length + value.length);
  out.set(head);
  out.set(value, head.length);
  return out;
}

/**
 * The value of a `53` TLV that spans `bytes` exactly. Strict: other tags, indefinite or non-minimal
 * lengths, lengths beyond 82 xx xx, and bytes before or after the TLV are ERR_INCORRECT_DATA (6A80).
 */
export function decodeAuthTlv(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 2) throw incorrectData("the data field is not a `53` TLV (too short)");
  if (bytes[0] !== TAG_AUTH_DATA) throw incorrectData(`tag ${bytes[0]!.toString(16)} where 53 is expected`);
  const l0 = bytes[1]!;
  let len: number;
  let off: number;
  if (l0 < 0x80) {
    len = l0;
    off = 2;
  } else if (l0 === 0x81) {
    if (bytes.length < 3) throw incorrectData("the TLV length is cut off");
    len = bytes[2]!;
    off = 3;
    if (len < 0x80) throw incorrectData("non-minimal TLV length (81 form below 0x80)");
  } else if (l0 === 0x82) {
    if (bytes.length < 4) throw incorrectData("the TLV length is cut off");
    len = (bytes[2]! << 8) | bytes[3]!;
    off = 4;
    if (len <= 0xff) throw incorrectData("non-minimal TLV length (82 form below 0x100)");
  } else {
    throw incorrectData(`unsupported TLV length byte ${l0.toString(16)}`);
  }
  if (off + len !== bytes.length) throw incorrectData(`TLV length ${len} disagrees with the ${bytes.length - off} bytes that follow`);
  return copyBytes(bytes.subarray(off));
}

export interface AuthenticateCommand {
  mode: number;
  modeData: Uint8Array;
}

/** Builds AUTHENTICATE (MBMS context): CLA 00, INS 89, P1 80, P2 85, data `53` L ‖ mode ‖ modeData, Le max. */
export function encodeAuthenticate(mode: number, modeData: Uint8Array): Uint8Array {
  if (!isByte(mode)) throw new UiccError("ERR_ARGUMENT", "mode is one byte");
  const value = new Uint8Array(1 + modeData.length);
  value[0] = mode;
  value.set(modeData, 1);
  const data = encodeAuthTlv(value);
  value.fill(0);
  const apdu = encodeCommandApdu({
    cla: CLA_BASIC, ins: INS_AUTHENTICATE_ODD, p1: P1_FIRST_BLOCK, p2: P2_MBMS_CONTEXT, data,
    le: data.length > SHORT_MAX ? 65536 : 256,
  });
  data.fill(0);
  return apdu;
}

/**
 * Decodes an AUTHENTICATE command in the MBMS context, checking in ISO order: framing (6700), CLA (6E00),
 * INS (6D00), P1/P2 (6A86), data present (6700), `53` TLV (6A80), mode byte present (6700).
 */
export function decodeAuthenticate(bytes: Uint8Array): AuthenticateCommand {
  const c = decodeCommandApdu(bytes);
  if (c.cla !== CLA_BASIC) throw new UiccError("ERR_CLA_NOT_SUPPORTED", `CLA ${c.cla.toString(16)}`, SW.CLA_NOT_SUPPORTED);
  if (c.ins !== INS_AUTHENTICATE_ODD) throw new UiccError("ERR_INS_NOT_SUPPORTED", `INS ${c.ins.toString(16)}`, SW.INS_NOT_SUPPORTED);
  if (c.p1 !== P1_FIRST_BLOCK || c.p2 !== P2_MBMS_CONTEXT) {
    throw new UiccError("ERR_INCORRECT_P1P2", `P1 ${c.p1.toString(16)} P2 ${c.p2.toString(16)}`, SW.INCORRECT_P1P2);
  }
  if (c.data.length === 0) throw wrongLength("AUTHENTICATE without a data field");
  const value = decodeAuthTlv(c.data);
  c.data.fill(0);
  if (value.length === 0) throw wrongLength("the `53` TLV holds no mode byte");
  return { mode: value[0]!, modeData: value.subarray(1) };
}

/** Response APDU: data ‖ SW1 SW2. */
export function encodeResponseApdu(sw: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) throw new UiccError("ERR_ARGUMENT", "SW is two bytes");
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw >>> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}

export function decodeResponseApdu(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) throw new UiccError("ERR_BAD_RESPONSE", `a response APDU has at least 2 bytes, got ${bytes.length}`);
  const n = bytes.length;
  return { data: copyBytes(bytes.subarray(0, n - 2)), sw: (bytes[n - 2]! << 8) | bytes[n - 1]! };
}

/** A successful AUTHENTICATE response: `53` L ‖ value with 9000, or a bare 9000. */
export function encodeAuthenticateResponse(value?: Uint8Array): Uint8Array {
  if (!value) return encodeResponseApdu(SW.OK);
  const tlv = encodeAuthTlv(value);
  const out = encodeResponseApdu(SW.OK, tlv);
  tlv.fill(0);
  return out;
}

/**
 * Decodes an AUTHENTICATE response (ME side). 9000 → the `53` TLV's value (undefined when bare); any other
 * status word → throws its UiccError (errorOfSw). Data with an error status word, or data that is not a
 * `53` TLV, is ERR_BAD_RESPONSE.
 */
export function decodeAuthenticateResponse(bytes: Uint8Array): Uint8Array | undefined {
  const { data, sw } = decodeResponseApdu(bytes);
  if (sw !== SW.OK) {
    if (data.length > 0) throw new UiccError("ERR_BAD_RESPONSE", `SW ${sw.toString(16)} with ${data.length} data bytes`);
    throw errorOfSw(sw);
  }
  if (data.length === 0) return undefined;
  try {
    return decodeAuthTlv(data);
  } catch (e) {
    throw new UiccError("ERR_BAD_RESPONSE", `9000 with data that is not a 53 TLV (${(e as UiccError).code})`);
  } finally {
    data.fill(0);
  }
}
