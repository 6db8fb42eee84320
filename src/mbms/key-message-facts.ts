/**
 * The clear facts of an MBMS key message (docs/mikey-profile.md) that an ME reads without the KEK: its T, CSB
 * ID, user, the service's parameters and its streams' ROCs. Decoded with the codec only; no key is decrypted. The service id and
 * the TGK-IDs' lifetimes are sealed under the KEK (sealed-key-ids.ts): in UICC mode the ME learns them from
 * the card's answer to the delivery (AUTHENTICATE mode 01). Browser-safe.
 */
import { decodeMessage, PayloadType, ExtensionType, ProtType, type KeyIdEntry } from "../mikey/codec/index.js";
import type { SrtpProfileName } from "../srtp/profiles.js";
import { profileOf } from "./key-message.js";
import { readServiceParams, type ServiceParameters } from "./service-parameters.js";
import { streamsOf, type SrtpStreamPosition } from "./stream-positions.js";

/** The non-secret facts of a key message: its T, CSB ID, user (IDr), parameters and TEK_RAND. */
export interface KeyMessageFacts {
  timestamp: bigint;
  /** The HDR's CSB ID: which service's TGK-IDs these are. */
  csbId: number;
  /** The IDr payload (the user's URI), when present: the second ID payload, IDi coming first. */
  userId?: string;
  /** The SRTP profile (SP payload), TEK derivation and MKI layout (Key ID type 242), when readable. */
  parameters?: ServiceParameters;
  /** TEK_RAND (the RAND payload), in an initial key message; a re-key carries none (RFC 3830 §4.5). */
  tekRand?: Uint8Array;
  /** The SRTP-ID map's streams (SSRC, ROC; stream-positions.ts). */
  streams: SrtpStreamPosition[];
}

const text = new TextDecoder();

/**
 * Reads the clear payloads of a key message with the codec: no key and no sealed extension is decrypted (the
 * ME has no KEK). Throws MikeyError when the bytes do not decode.
 */
export function keyMessageFacts(bytes: Uint8Array): KeyMessageFacts {
  const message = decodeMessage(bytes);
  let timestamp = 0n;
  const ids: Uint8Array[] = [];
  let profile: SrtpProfileName | undefined;
  let tekRand: Uint8Array | undefined;
  const keyIds: KeyIdEntry[] = [];
  for (const p of message.payloads) {
    if (p.type === PayloadType.T) timestamp = p.value;
    if (p.type === PayloadType.RAND) tekRand = p.rand.slice();
    if (p.type === PayloadType.SP && p.protType === ProtType.Srtp) profile ??= profileOf(p.params);
    if (p.type === PayloadType.ID) ids.push(p.id);
    if (p.type === PayloadType.GeneralExtension && p.extType === ExtensionType.KeyId && "keyIds" in p) keyIds.push(...p.keyIds);
  }
  const userId = ids.length === 2 ? text.decode(ids[1]) : undefined;
  const parameters = profile !== undefined ? { profile, ...readServiceParams(keyIds) } : undefined;
  return {
    timestamp, csbId: message.header.csbId, streams: streamsOf(message.header.srtpMap), ...(userId !== undefined ? { userId } : {}),
    ...(parameters ? { parameters } : {}), ...(tekRand ? { tekRand } : {}),
  };
}
