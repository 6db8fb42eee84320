import { MbmsSrtpError } from "../../errors.js";

/**
 * Codes of the UICC-proxy boundary. The first group are ISO 7816-4 / TS 31.102 status words (the card
 * answered, or the APDU decoder refused bytes with that status); `sw` carries the status word. The second
 * group are faults of the proxy itself. Messages carry status words, lengths and offsets only, never keys.
 */
export type UiccErrorCode =
  | "ERR_WRONG_LENGTH" // 6700: APDU framing (Lc/Le) disagrees with its length, or mode data of the wrong length
  | "ERR_INCORRECT_DATA" // 6A80: data field is not `53` L ‖ mode ‖ data, unknown mode, or an unparseable key message
  | "ERR_INCORRECT_P1P2" // 6A86
  | "ERR_INS_NOT_SUPPORTED" // 6D00
  | "ERR_CLA_NOT_SUPPORTED" // 6E00
  | "ERR_INCORRECT_MAC" // 9862: the key message's MAC does not verify under the card's KEK
  | "ERR_FRESHNESS" // 9865: key message timestamp (the card's freshness counter) not above the last accepted
  | "ERR_MEMORY_FULL" // 9866: no room for the message's TGKs
  | "ERR_KEY_NOT_FOUND" // 6A88: the TGK-ID named is not held by the card
  | "ERR_CONDITIONS_NOT_SATISFIED" // 6985: the mode does not apply to the TGK named (SK-TGK of an Alternative 1 service)
  | "ERR_NO_DIAGNOSIS" // 6F00: the card failed without a precise diagnosis
  | "ERR_UNKNOWN_SW" // a status word outside the set this boundary defines
  | "ERR_BAD_RESPONSE" // a response APDU that does not decode (ME side)
  | "ERR_TIMEOUT" // the card did not answer in time
  | "ERR_CLOSED" // the proxy was closed (pending requests are rejected with this)
  | "ERR_CARD_FAULT" // the card's worker failed or exited
  | "ERR_ARGUMENT"; // malformed input to the proxy (not an APDU)

export class UiccError extends MbmsSrtpError {
  declare readonly code: UiccErrorCode;
  /** The status word this error stands for (6F00 for proxy faults). */
  readonly sw: number;
  constructor(code: UiccErrorCode, message: string, sw: number = SW.NO_DIAGNOSIS) {
    super(code, message);
    this.sw = sw;
  }
}

/** Status words of AUTHENTICATE in the MBMS security context (TS 31.102 §7.1.2) and ISO 7816-4. */
export const SW = {
  OK: 0x9000,
  INCORRECT_MAC: 0x9862,
  FRESHNESS: 0x9865,
  MEMORY_FULL: 0x9866,
  KEY_NOT_FOUND: 0x6a88,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  WRONG_LENGTH: 0x6700,
  INCORRECT_DATA: 0x6a80,
  INCORRECT_P1P2: 0x6a86,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_DIAGNOSIS: 0x6f00,
} as const;

const CODE_OF_SW: ReadonlyMap<number, UiccErrorCode> = new Map<number, UiccErrorCode>([
  [SW.INCORRECT_MAC, "ERR_INCORRECT_MAC"],
  [SW.FRESHNESS, "ERR_FRESHNESS"],
  [SW.MEMORY_FULL, "ERR_MEMORY_FULL"],
  [SW.KEY_NOT_FOUND, "ERR_KEY_NOT_FOUND"],
  [SW.CONDITIONS_NOT_SATISFIED, "ERR_CONDITIONS_NOT_SATISFIED"],
  [SW.WRONG_LENGTH, "ERR_WRONG_LENGTH"],
  [SW.INCORRECT_DATA, "ERR_INCORRECT_DATA"],
  [SW.INCORRECT_P1P2, "ERR_INCORRECT_P1P2"],
  [SW.INS_NOT_SUPPORTED, "ERR_INS_NOT_SUPPORTED"],
  [SW.CLA_NOT_SUPPORTED, "ERR_CLA_NOT_SUPPORTED"],
  [SW.NO_DIAGNOSIS, "ERR_NO_DIAGNOSIS"],
]);

/** Every status word the card may answer with. */
export const KNOWN_SWS: readonly number[] = [SW.OK, ...CODE_OF_SW.keys()];

/** Every UiccErrorCode, for tests that check a thrown code is a documented one. */
export const UICC_ERROR_CODES: readonly UiccErrorCode[] = [
  ...CODE_OF_SW.values(), "ERR_UNKNOWN_SW", "ERR_BAD_RESPONSE", "ERR_TIMEOUT", "ERR_CLOSED", "ERR_CARD_FAULT", "ERR_ARGUMENT",
];

export const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, "0");

/** The UiccError for a status word other than 9000. */
export function errorOfSw(sw: number, what = "the card"): UiccError {
  const code = CODE_OF_SW.get(sw);
  return code
    ? new UiccError(code, `${what} answered SW ${swHex(sw)}`, sw)
    : new UiccError("ERR_UNKNOWN_SW", `${what} answered an unknown SW ${swHex(sw)}`, sw);
}
