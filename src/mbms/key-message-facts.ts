/**
 * The clear facts of an MBMS key message (docs/mikey-profile.md) that an ME reads without the KEK: in UICC
 * mode the card opens the message, but the ME schedules re-keys and parses packets, so it needs the
 * TGK-IDs and lifetimes, the service, the user, and the service's parameters. Decoded with the codec only;
 * no key is decrypted. Browser-safe.
 */
import { decodeMessage, PayloadType, ExtensionType, KeyIdType, ProtType, type KeyIdEntry } from "../mikey/codec/index.js";
import { msFromNtp } from "../mikey/ntp.js";
import type { SrtpProfileName } from "../srtp/profiles.js";
import { KEY_ID_TGK_VALIDITY, profileOf } from "./key-message.js";
import { readServiceParams, type ServiceParameters } from "./service-parameters.js";

/** The non-secret facts of a key message: its T, CSB ID, TGK-ID → validity, service (Key Domain ID) and user (IDr). */
export interface KeyMessageFacts {
  timestamp: bigint;
  /** The HDR's CSB ID: which service's TGK-IDs these are. */
  csbId: number;
  tgks: { tgkId: number; validFrom: number; expiresAt: number }[];
  /** The Key ID extension's MBMS Key Domain ID (our service id), when present. */
  serviceId?: string;
  /** The IDr payload (the user's URI), when present: the second ID payload, IDi coming first. */
  userId?: string;
  /** The SRTP profile (SP payload), TEK derivation and MKI layout (Key ID type 242), when readable. */
  parameters?: ServiceParameters;
  /** TEK_RAND (the RAND payload), in an initial key message; a re-key carries none (RFC 3830 §4.5). */
  tekRand?: Uint8Array;
}

const text = new TextDecoder();

/**
 * Reads T and the TGK validity entries (Key ID type 241) of a key message with the codec: clear fields
 * only, no key is decrypted (the ME has no KEK). Throws MikeyError when the bytes do not decode.
 */
export function keyMessageFacts(bytes: Uint8Array): KeyMessageFacts {
  const message = decodeMessage(bytes);
  let timestamp = 0n;
  const tgks: KeyMessageFacts["tgks"] = [];
  const ids: Uint8Array[] = [];
  let serviceId: string | undefined;
  let profile: SrtpProfileName | undefined;
  let tekRand: Uint8Array | undefined;
  const keyIds: KeyIdEntry[] = [];
  for (const p of message.payloads) {
    if (p.type === PayloadType.T) timestamp = p.value;
    if (p.type === PayloadType.RAND) tekRand = p.rand.slice();
    if (p.type === PayloadType.SP && p.protType === ProtType.Srtp) profile ??= profileOf(p.params);
    if (p.type === PayloadType.ID) ids.push(p.id);
    if (p.type === PayloadType.GeneralExtension && p.extType === ExtensionType.KeyId && "keyIds" in p) {
      keyIds.push(...p.keyIds);
      for (const k of p.keyIds) {
        if (k.keyIdType === KeyIdType.MbmsKeyDomainId) serviceId ??= text.decode(k.keyId);
        if (k.keyIdType !== KEY_ID_TGK_VALIDITY || k.keyId.length !== 20) continue;
        const v = new DataView(k.keyId.buffer, k.keyId.byteOffset, 20);
        tgks.push({ tgkId: v.getUint32(0), validFrom: msFromNtp(v.getBigUint64(4)), expiresAt: msFromNtp(v.getBigUint64(12)) });
      }
    }
  }
  const userId = ids.length === 2 ? text.decode(ids[1]) : undefined;
  const parameters = profile !== undefined ? { profile, ...readServiceParams(keyIds) } : undefined;
  return {
    timestamp, csbId: message.header.csbId, tgks, ...(serviceId !== undefined ? { serviceId } : {}), ...(userId !== undefined ? { userId } : {}),
    ...(parameters ? { parameters } : {}), ...(tekRand ? { tekRand } : {}),
  };
}
