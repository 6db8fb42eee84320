// The MBMS TGK → TEK hierarchy of the founding document (docs/architecture.md §1, docs/key-derivation.md §3): the SRTP master key and salt
// for the MKI a packet carries. Pure: no Node APIs, runs in browsers.
//
//   MKI = TGK-ID (1..4 bytes, big-endian; default 4) ‖ R (8..16 bytes; default 8)
//   Alternative 1 (default): R = TEK_RAND2,
//     TEK  = PRF(TGK, 0x2AD01C64 ‖ cs_id ‖ CSB_ID ‖ TEK_RAND ‖ TEK_RAND2)   (RFC 3830 §4.1.3, RAND extended)
//     salt = PRF(TGK, 0x39A2C14B ‖ cs_id ‖ CSB_ID ‖ TEK_RAND ‖ TEK_RAND2)
//   Alternative 2: R = TGK_RAND,
//     SK-TGK = PRF(TGK, 0x2B288856 ‖ 0xFF ‖ CSB_ID ‖ TGK_RAND)   (our constant, see MIKEY_CONST.SK_TGK)
//     TEK, salt = the RFC 3830 §4.1.3 derivation from SK-TGK with TEK_RAND.
//
// R must be unpredictable and have ≥ 64 bits (docs/precalculation-attack.md): hence the 8-byte minimum.
import { MIKEY_CONST, labelTail, mikeyLabel } from "../mikey/prf.js";
import { defaultCore } from "../wasm/default-core.js";
import type { CryptoCore } from "../wasm/core.js";
import { MbmsError } from "./errors.js";

export interface MkiLayout {
  /** Bytes of TGK-ID at the start of the MKI: 1..4 (default 4). */
  readonly tgkIdBytes: number;
  /** Bytes of TEK_RAND2 (Alt 1) / TGK_RAND (Alt 2) after it: 8..16 (default 8). */
  readonly randBytes: number;
}

export const DEFAULT_MKI_LAYOUT: MkiLayout = { tgkIdBytes: 4, randBytes: 8 };

export type TekDerivation = "alt1" | "alt2";

export interface KeyHierarchyOptions {
  layout?: Partial<MkiLayout>;
  /** "alt1" (default, the founding document's preferred) or "alt2". */
  derivation?: TekDerivation;
  /** 16 (AES-128 profiles, default) or 32 (AES-256). */
  tekLength?: 16 | 32;
  /** Core to run the PRF on; default: one shared core. */
  core?: CryptoCore;
}

export interface TekInputs {
  /** The TEK generation key delivered by MIKEY. */
  tgk: Uint8Array;
  /** Its TGK-ID: the MKI must name it. */
  tgkId: number;
  /** CSB ID of the MIKEY message (32 bits) and the crypto session's cs_id (8 bits). */
  csbId: number;
  csId: number;
  /** TEK_RAND, sent once in the initial keying (the MIKEY RAND). */
  tekRand: Uint8Array;
  /** The MKI of the SRTP packet. */
  mki: Uint8Array;
}

export interface SrtpMasterKeys {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
}

const SALT_BYTES = 14;
const TGK_MAX = 256; // the core's PRF output limit, which bounds SK-TGK (= the TGK's length)
const RAND_MAX = 255; // RFC 3830 §6.11: RAND len is 8 bits

/** The layout with defaults filled in, validated. */
export function mkiLayout(layout: Partial<MkiLayout> = {}): MkiLayout {
  const l = { ...DEFAULT_MKI_LAYOUT, ...layout };
  if (!Number.isInteger(l.tgkIdBytes) || l.tgkIdBytes < 1 || l.tgkIdBytes > 4) {
    throw new MbmsError("ERR_MKI_LAYOUT", `TGK-ID is 1..4 bytes, got ${l.tgkIdBytes}`);
  }
  if (!Number.isInteger(l.randBytes) || l.randBytes < 8 || l.randBytes > 16) {
    throw new MbmsError("ERR_MKI_LAYOUT", `the MKI's random part is 8..16 bytes, got ${l.randBytes}`);
  }
  return l;
}

/** Length of an MKI of this layout. */
export const mkiLength = (layout: Partial<MkiLayout> = {}): number => {
  const l = mkiLayout(layout);
  return l.tgkIdBytes + l.randBytes;
};

function checkTgkId(tgkId: number, l: MkiLayout): void {
  if (!Number.isInteger(tgkId) || tgkId < 0 || tgkId >= 2 ** (8 * l.tgkIdBytes)) {
    throw new MbmsError("ERR_TGK_ID", `TGK-ID does not fit in ${l.tgkIdBytes} byte(s)`);
  }
}

/** MKI = TGK-ID (big-endian) ‖ rand (TEK_RAND2 or TGK_RAND). */
export function buildMki(tgkId: number, rand: Uint8Array, layout: Partial<MkiLayout> = {}): Uint8Array {
  const l = mkiLayout(layout);
  checkTgkId(tgkId, l);
  if (rand.length !== l.randBytes) throw new MbmsError("ERR_MKI_LAYOUT", `the layout's random part is ${l.randBytes} bytes, got ${rand.length}`);
  const mki = new Uint8Array(l.tgkIdBytes + l.randBytes);
  for (let i = 0, id = tgkId; i < l.tgkIdBytes; i++, id = Math.floor(id / 256)) mki[l.tgkIdBytes - 1 - i] = id % 256;
  mki.set(rand, l.tgkIdBytes);
  return mki;
}

/** Splits an MKI into TGK-ID and its random part (a copy). */
export function splitMki(mki: Uint8Array, layout: Partial<MkiLayout> = {}): { tgkId: number; rand: Uint8Array } {
  const l = mkiLayout(layout);
  if (mki.length !== l.tgkIdBytes + l.randBytes) {
    throw new MbmsError("ERR_MKI_LAYOUT", `the layout's MKI is ${l.tgkIdBytes + l.randBytes} bytes, got ${mki.length}`);
  }
  let tgkId = 0;
  for (let i = 0; i < l.tgkIdBytes; i++) tgkId = tgkId * 256 + mki[i]!;
  return { tgkId, rand: mki.slice(l.tgkIdBytes) };
}

/** The checks every derivation makes: lengths, ranges, and that the MKI names the TGK given. */
function checkInputs(input: Omit<TekInputs, "tekRand"> & { tekRand?: Uint8Array }, layout: MkiLayout, tekLength: number): Uint8Array {
  checkSession(tekLength, input.csId, input.csbId);
  checkKey(input.tgk, "TGK");
  if (input.tekRand !== undefined) checkTekRand(input.tekRand);
  checkTgkId(input.tgkId, layout);
  const { tgkId, rand } = splitMki(input.mki, layout);
  if (tgkId !== input.tgkId) throw new MbmsError("ERR_TGK_ID", "the MKI names another TGK");
  return rand;
}

function checkSession(tekLength: number, csId: number, csbId: number): void {
  if (tekLength !== 16 && tekLength !== 32) throw new MbmsError("ERR_KEY_LENGTH", `TEKs are 16 or 32 bytes, got ${tekLength}`);
  if (!Number.isInteger(csId) || csId < 0 || csId > 0xff) throw new MbmsError("ERR_ARGUMENT", "cs_id is 8 bits");
  if (!Number.isInteger(csbId) || csbId < 0 || csbId > 0xffffffff) throw new MbmsError("ERR_ARGUMENT", "CSB ID is 32 bits");
}

function checkKey(key: Uint8Array, what: string): void {
  if (key.length === 0 || key.length > TGK_MAX) throw new MbmsError("ERR_KEY_LENGTH", `${what}s are 1..${TGK_MAX} bytes, got ${key.length}`);
}

function checkTekRand(tekRand: Uint8Array): void {
  if (tekRand.length === 0 || tekRand.length > RAND_MAX) throw new MbmsError("ERR_ARGUMENT", `TEK_RAND is 1..${RAND_MAX} bytes, got ${tekRand.length}`);
}

/**
 * The SRTP master key (the TEK) and master salt for the packet's MKI, by Alternative 1 or 2. * ERR_TGK_ID when the MKI names another TGK than `tgkId`.
 */
export function deriveSrtpMasterKeys(input: TekInputs, options: KeyHierarchyOptions = {}): SrtpMasterKeys {
  const layout = mkiLayout(options.layout);
  const tekLength = options.tekLength ?? 16;
  const rand = checkInputs(input, layout, tekLength);
  const core = options.core ?? defaultCore();
  const derivation = options.derivation ?? "alt1";
  let pair: [Uint8Array, Uint8Array];
  if (derivation === "alt1") {
    const tail = labelTail(input.csId, input.csbId, input.tekRand, rand);
    pair = core.mikeyDerivePair(input.tgk, MIKEY_CONST.TEK, MIKEY_CONST.SALT, tail, tekLength, SALT_BYTES);
  } else if (derivation === "alt2") {
    // SK-TGK (as long as the TGK) never leaves the core.
    const skLabel = mikeyLabel(MIKEY_CONST.SK_TGK, labelTail(0xff, input.csbId, rand));
    const tail = labelTail(input.csId, input.csbId, input.tekRand);
    pair = core.mikeyDerivePairSk(input.tgk, skLabel, input.tgk.length, MIKEY_CONST.TEK, MIKEY_CONST.SALT, tail, tekLength, SALT_BYTES);
  } else {
    throw new MbmsError("ERR_ARGUMENT", "derivation is \"alt1\" or \"alt2\"");
  }
  return { masterKey: pair[0], masterSalt: pair[1] };
}

/**
 * Alternative 2 split as the founding document draws it (Figure 5), first half — the card's: SK-TGK for
 * the MKI's TGK_RAND, as long as the TGK. It opens exactly the TEK of that MKI (tekFromSkTgk), no other.
 */
export function deriveSkTgk(input: Omit<TekInputs, "tekRand" | "csId">, options: Omit<KeyHierarchyOptions, "derivation" | "tekLength"> = {}): Uint8Array {
  const layout = mkiLayout(options.layout);
  const rand = checkInputs({ ...input, csId: 0 }, layout, 16);
  const core = options.core ?? defaultCore();
  return core.mikeyPrf(input.tgk, mikeyLabel(MIKEY_CONST.SK_TGK, labelTail(0xff, input.csbId, rand)), input.tgk.length);
}

/** Second half — the ME's: TEK and salt from SK-TGK and the service's TEK_RAND (RFC 3830 §4.1.3 from SK-TGK). */
export function tekFromSkTgk(
  input: { skTgk: Uint8Array; csbId: number; csId: number; tekRand: Uint8Array },
  options: Pick<KeyHierarchyOptions, "tekLength" | "core"> = {},
): SrtpMasterKeys {
  const tekLength = options.tekLength ?? 16;
  checkSession(tekLength, input.csId, input.csbId);
  checkKey(input.skTgk, "SK-TGK");
  checkTekRand(input.tekRand);
  const core = options.core ?? defaultCore();
  const tail = labelTail(input.csId, input.csbId, input.tekRand);
  const [masterKey, masterSalt] = core.mikeyDerivePair(input.skTgk, MIKEY_CONST.TEK, MIKEY_CONST.SALT, tail, tekLength, SALT_BYTES);
  return { masterKey, masterSalt };
}
