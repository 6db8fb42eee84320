/**
 * Which payloads a message of each data type may carry, and in which order (RFC 3830 §3.1–§3.3, §4.5,
 * §5.1.2). General Extensions (§6.15) "may appear in any message": they are accepted anywhere before
 * the terminal payload. Updates are covered by making RAND optional (§4.5: no RAND in updates).
 */
import { MikeyError } from "../errors.js";
import { DataType, PayloadType } from "./constants.js";

interface Slot {
  types: readonly PayloadType[];
  min: number;
  max: number;
  /** Nothing, not even an extension, may follow it (the MAC or signature covers what precedes it). */
  terminal?: boolean;
}

const { T, RAND, ID, CERT, SP, KEMAC, CHASH, PKE, DH, SIGN, V, ERR } = PayloadType;
const many = Number.POSITIVE_INFINITY;

const GRAMMARS: Readonly<Record<DataType, readonly Slot[]>> = {
  // HDR, T, [RAND], [IDi], [IDr], {SP}, KEMAC — the KEMAC MAC covers all that precedes it (§5.2).
  [DataType.PskInit]: [
    { types: [T], min: 1, max: 1 }, { types: [RAND], min: 0, max: 1 }, { types: [ID], min: 0, max: 2 },
    { types: [SP], min: 0, max: many }, { types: [KEMAC], min: 1, max: 1, terminal: true },
  ],
  // HDR, T, [IDi], [IDr], V
  [DataType.PskVerify]: [
    { types: [T], min: 1, max: 1 }, { types: [ID], min: 0, max: 2 }, { types: [V], min: 1, max: 1, terminal: true },
  ],
  // HDR, T, [RAND], [IDi|CERTi], [IDr], {SP}, [KEMAC], [CHASH], [PKE], SIGNi
  [DataType.PkInit]: [
    { types: [T], min: 1, max: 1 }, { types: [RAND], min: 0, max: 1 }, { types: [ID, CERT], min: 0, max: many },
    { types: [SP], min: 0, max: many }, { types: [KEMAC], min: 0, max: 1 }, { types: [CHASH], min: 0, max: 1 },
    { types: [PKE], min: 0, max: 1 }, { types: [SIGN], min: 1, max: 1, terminal: true },
  ],
  // HDR, T, [IDr], V
  [DataType.PkVerify]: [
    { types: [T], min: 1, max: 1 }, { types: [ID], min: 0, max: 2 }, { types: [V], min: 1, max: 1, terminal: true },
  ],
  // HDR, T, [RAND], [IDi|CERTi], [IDr], {SP}, DHi, SIGNi
  [DataType.DhInit]: [
    { types: [T], min: 1, max: 1 }, { types: [RAND], min: 0, max: 1 }, { types: [ID, CERT], min: 0, max: many },
    { types: [SP], min: 0, max: many }, { types: [DH], min: 1, max: 1 }, { types: [SIGN], min: 1, max: 1, terminal: true },
  ],
  // HDR, T, [IDr|CERTr], IDi, DHr, DHi, SIGNr
  [DataType.DhResponse]: [
    { types: [T], min: 1, max: 1 }, { types: [ID, CERT], min: 0, max: many }, { types: [SP], min: 0, max: many },
    { types: [DH], min: 1, max: 2 }, { types: [SIGN], min: 1, max: 1, terminal: true },
  ],
  // HDR, T, {ERR}, {SP}, [V|SIGNr]
  [DataType.Error]: [
    { types: [T], min: 1, max: 1 }, { types: [ERR], min: 0, max: many }, { types: [SP], min: 0, max: many },
    { types: [V, SIGN], min: 0, max: 1, terminal: true },
  ],
};

/** At most IDi and IDr. */
const MAX_ID_PAYLOADS = 2;

function orderError(dataType: DataType, detail: string): MikeyError {
  return new MikeyError("ERR_PAYLOAD_ORDER", `data type ${dataType}: ${detail}`);
}

/** Throws ERR_PAYLOAD_ORDER unless `types` (the payloads after HDR, in order) fit the data type. */
export function checkPayloadOrder(dataType: DataType, types: readonly PayloadType[]): void {
  const slots = GRAMMARS[dataType];
  let slot = 0, count = 0, ids = 0, closed = false;
  for (const t of types) {
    if (closed) throw orderError(dataType, `payload ${t} after the terminal payload`);
    if (t === ID && ++ids > MAX_ID_PAYLOADS) throw orderError(dataType, "more than two ID payloads");
    if (t === PayloadType.GeneralExtension) continue;
    while (slot < slots.length && !slots[slot]!.types.includes(t)) {
      if (count < slots[slot]!.min) throw orderError(dataType, `payload ${slots[slot]!.types.join("|")} missing before ${t}`);
      slot++;
      count = 0;
    }
    const s = slots[slot];
    if (s === undefined) throw orderError(dataType, `payload ${t} not allowed here`);
    if (++count > s.max) throw orderError(dataType, `payload ${t} repeated`);
    if (s.terminal) closed = true;
  }
  for (; slot < slots.length; slot++, count = 0) {
    if (count < slots[slot]!.min) throw orderError(dataType, `payload ${slots[slot]!.types.join("|")} missing`);
  }
}
