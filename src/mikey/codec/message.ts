/**
 * Whole MIKEY messages (RFC 3830 §6): HDR, then payloads chained by next-payload bytes. The decoder
 * checks every length against the bytes left, refuses unknown types, trailing bytes and payload orders
 * RFC 3830 does not allow; it throws only MikeyError. The encoder computes the next-payload chain.
 */
import { MikeyError } from "../errors.js";
import { MAX_MESSAGE_BYTES, PayloadType } from "./constants.js";
import { decodeHeader, encodeHeader } from "./header.js";
import { checkPayloadOrder } from "./order.js";
import { decodePayloadBody, encodePayloadBody } from "./payloads/index.js";
import { ByteReader } from "./reader.js";
import type { DecodedMessage, MikeyMessage, MikeyPayload, PayloadSpan } from "./types.js";
import { ByteWriter, encodeError } from "./writer.js";

export function decodeMessage(bytes: Uint8Array): DecodedMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new MikeyError("ERR_TOO_LARGE", `${bytes.length} bytes, at most ${MAX_MESSAGE_BYTES}`);
  }
  const r = new ByteReader(bytes);
  const { header, next } = decodeHeader(r);
  const headerLength = r.offset;
  const payloads: MikeyPayload[] = [];
  const layout: PayloadSpan[] = [];
  let macOffset: number | undefined;
  // Every iteration consumes at least one byte of a bounded buffer: the loop ends.
  for (let type = next; type !== PayloadType.Last; ) {
    const start = r.offset;
    let following: number;
    if (type === PayloadType.SIGN) {
      following = PayloadType.Last; // SIGN has no next-payload field and is always last (§6.5)
    } else {
      following = r.u8("next payload");
    }
    const decoded = decodePayloadBody(type, r);
    payloads.push(decoded.payload);
    const span: PayloadSpan = { type, start, end: r.offset };
    if (decoded.macOffset !== undefined) span.macOffset = macOffset = decoded.macOffset;
    layout.push(span);
    type = following;
  }
  r.expectEnd("ERR_TRAILING_DATA", "after the Last payload");
  checkPayloadOrder(header.dataType, payloads.map((p) => p.type));
  const out: DecodedMessage = { header, payloads, headerLength, layout };
  if (macOffset !== undefined) out.macOffset = macOffset;
  return out;
}

export interface EncodeOptions {
  /** Skip the RFC 3830 payload-order check (to build malformed messages in tests). */
  skipOrderCheck?: boolean;
}

export interface EncodedMessage {
  bytes: Uint8Array;
  layout: PayloadSpan[];
  /** Offset of the last KEMAC or V MAC field: compute the MAC over bytes [0, macOffset) and write it there. */
  macOffset?: number;
}

/** Encodes a message and reports where each payload (and the MAC field) lies. */
export function encodeMessageWithLayout(msg: MikeyMessage, options: EncodeOptions = {}): EncodedMessage {
  const { header, payloads } = msg;
  if (!options.skipOrderCheck) {
    try {
      checkPayloadOrder(header.dataType, payloads.map((p) => p.type));
    } catch (e) {
      throw e instanceof MikeyError ? encodeError("payload order", e.message) : e;
    }
  }
  const w = new ByteWriter();
  encodeHeader(w, header, payloads[0]?.type ?? PayloadType.Last);
  const layout: PayloadSpan[] = [];
  let macOffset: number | undefined;
  payloads.forEach((p, i) => {
    const start = w.length;
    const following = payloads[i + 1]?.type ?? PayloadType.Last;
    if (p.type === PayloadType.SIGN) {
      if (following !== PayloadType.Last) throw encodeError("SIGN", "must be the last payload (§6.5)");
    } else {
      w.u8(following, "next payload");
    }
    const mo = encodePayloadBody(w, p);
    const span: PayloadSpan = { type: p.type, start, end: w.length };
    if (mo !== undefined) span.macOffset = macOffset = mo;
    layout.push(span);
  });
  const out: EncodedMessage = { bytes: w.finish(), layout };
  if (macOffset !== undefined) out.macOffset = macOffset;
  return out;
}

export function encodeMessage(msg: MikeyMessage, options: EncodeOptions = {}): Uint8Array {
  return encodeMessageWithLayout(msg, options).bytes;
}
