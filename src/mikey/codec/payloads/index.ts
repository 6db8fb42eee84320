/** Dispatch by payload type: one body decoder and encoder per RFC 3830 §6 payload. */
import { MikeyError } from "../../errors.js";
import { PayloadType } from "../constants.js";
import type { ByteReader } from "../reader.js";
import type { MikeyPayload } from "../types.js";
import { encodeError, type ByteWriter } from "../writer.js";
import { decodeErrorPayload, encodeErrorPayload } from "./error.js";
import { decodeExtension, encodeExtension } from "./extension.js";
import { decodeCert, decodeId, encodeCert, encodeId } from "./identity.js";
import { decodeKemac, decodeVerification, encodeKemac, encodeVerification } from "./kemac.js";
import { decodeChash, decodeDh, decodePke, decodeSign, encodeChash, encodeDh, encodePke, encodeSign } from "./public-key.js";
import { decodeRand, encodeRand } from "./rand.js";
import { decodeSecurityPolicy, encodeSecurityPolicy } from "./security-policy.js";
import { decodeTimestamp, encodeTimestamp } from "./timestamp.js";

/** Decodes the body of a payload of `type` (after its next-payload byte; SIGN has none). */
export function decodePayloadBody(type: number, r: ByteReader): { payload: MikeyPayload; macOffset?: number } {
  switch (type) {
    case PayloadType.KEMAC: return decodeKemac(r);
    case PayloadType.V: return decodeVerification(r);
    case PayloadType.PKE: return { payload: decodePke(r) };
    case PayloadType.DH: return { payload: decodeDh(r) };
    case PayloadType.SIGN: return { payload: decodeSign(r) };
    case PayloadType.T: return { payload: decodeTimestamp(r) };
    case PayloadType.ID: return { payload: decodeId(r) };
    case PayloadType.CERT: return { payload: decodeCert(r) };
    case PayloadType.CHASH: return { payload: decodeChash(r) };
    case PayloadType.SP: return { payload: decodeSecurityPolicy(r) };
    case PayloadType.RAND: return { payload: decodeRand(r) };
    case PayloadType.ERR: return { payload: decodeErrorPayload(r) };
    case PayloadType.GeneralExtension: return { payload: decodeExtension(r) };
    default: // includes Key data (20): a KEMAC sub-payload, never a message payload
      throw new MikeyError("ERR_UNKNOWN_PAYLOAD", `payload type ${type}`);
  }
}

/** Encodes a payload body; returns the MAC field's offset for KEMAC and V. */
export function encodePayloadBody(w: ByteWriter, p: MikeyPayload): number | undefined {
  switch (p.type) {
    case PayloadType.KEMAC: return encodeKemac(w, p);
    case PayloadType.V: return encodeVerification(w, p);
    case PayloadType.PKE: encodePke(w, p); return undefined;
    case PayloadType.DH: encodeDh(w, p); return undefined;
    case PayloadType.SIGN: encodeSign(w, p); return undefined;
    case PayloadType.T: encodeTimestamp(w, p); return undefined;
    case PayloadType.ID: encodeId(w, p); return undefined;
    case PayloadType.CERT: encodeCert(w, p); return undefined;
    case PayloadType.CHASH: encodeChash(w, p); return undefined;
    case PayloadType.SP: encodeSecurityPolicy(w, p); return undefined;
    case PayloadType.RAND: encodeRand(w, p); return undefined;
    case PayloadType.ERR: encodeErrorPayload(w, p); return undefined;
    case PayloadType.GeneralExtension: encodeExtension(w, p); return undefined;
    default:
      throw encodeError("payload", `type ${(p as { type: unknown }).type} is unknown`);
  }
}
