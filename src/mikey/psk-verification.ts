/**
 * The PSK Verification message (RFC 3830 §3.1, §5.2): R_MESSAGE = HDR, T, [IDr], V, sent by the Responder
 * when the Initiator set the V flag. V's MAC, under the auth_key of the exchange, covers the whole
 * R_MESSAGE up to the MAC field followed by IDi ‖ IDr ‖ T of the Initiator's message.
 *
 * RFC 3830 leaves open what "IDi ‖ IDr" is when a message has no ID payloads; we append the identity
 * bytes of the ID payloads that are present (none, one or both) and then the 64-bit T, which is what
 * minisip does when there are none.
 */
import type { CryptoCore } from "../wasm/core.js";
import {
  DataType, MacAlg, PayloadType, decodeMessage, encodeMessageWithLayout, timestamp64, type MikeyPayload,
} from "./codec/index.js";
import { MikeyError } from "./errors.js";
import { defaultCore } from "../wasm/default-core.js";
import type { OpenedPskMessage } from "./psk.js";
import { withTransportKeys } from "./transport.js";
import { concatBytes } from "../bytes.js";

function transcript(rMessage: Uint8Array, initiator: OpenedPskMessage): Uint8Array {
  return concatBytes([rMessage, initiator.idi?.id, initiator.idr?.id, timestamp64(initiator.timestamp)].filter((p) => p !== undefined));
}

/** The Responder's Verification message for an opened Initiator message. */
export function sealPskVerification(psk: Uint8Array, initiator: OpenedPskMessage, core: CryptoCore = defaultCore()): Uint8Array {
  const { header } = initiator.message;
  const payloads: MikeyPayload[] = [
    initiator.timestamp,
    ...(initiator.idr ? [initiator.idr] : []),
    { type: PayloadType.V, macAlg: MacAlg.HmacSha1_160, mac: new Uint8Array(20) },
  ];
  const { bytes, macOffset } = encodeMessageWithLayout({ header: { ...header, dataType: DataType.PskVerify, v: false }, payloads });
  return withTransportKeys(core, psk, header.csbId, initiator.rand, (keys) => {
    bytes.set(keys.mac(transcript(bytes.subarray(0, macOffset!), initiator)), macOffset!);
    return bytes;
  });
}

/** Checks a Verification message against the Initiator message it answers; throws MikeyError. */
export function openPskVerification(
  bytes: Uint8Array, psk: Uint8Array, initiator: OpenedPskMessage, core: CryptoCore = defaultCore(),
): void {
  const message = decodeMessage(bytes);
  if (message.header.dataType !== DataType.PskVerify) throw new MikeyError("ERR_UNSUPPORTED", "not a PSK Verification message");
  if (message.header.csbId !== initiator.csbId) throw new MikeyError("ERR_AUTH", "Verification for another crypto session bundle");
  const v = message.payloads.find((p) => p.type === PayloadType.V);
  if (!v || v.type !== PayloadType.V || v.macAlg !== MacAlg.HmacSha1_160) throw new MikeyError("ERR_UNSUPPORTED", "a Verification needs HMAC-SHA-1");
  const ok = withTransportKeys(core, psk, initiator.csbId, initiator.rand, (keys) =>
    keys.verify(transcript(bytes.subarray(0, message.macOffset!), initiator), v.mac));
  if (!ok) throw new MikeyError("ERR_AUTH", "the Verification MAC does not verify");
}
