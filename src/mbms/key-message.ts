/**
 * The MBMS key message (docs/mikey-profile.md): how the BM-SC delivers TGKs to one user, point-to-point,
 * in a MIKEY PSK message keyed with that user's KEK. Standard payloads carry everything:
 *
 *   HDR   PSK Initiator, CSB ID of the service, SRTP-ID map (policy 0, SSRC, ROC for late joiners)
 *   T     NTP-UTC (unique per message: the replay protection)
 *   RAND  TEK_RAND of the service, in an initial key message only: a re-key is an RFC 3830 §4.5 update
 *         without RAND, whose KEMAC keys (and TEKs) derive from the TEK_RAND the receiver kept
 *   IDi   URI of the BM-SC            IDr  URI of the user (selects the KEK)
 *   EXT   RFC 4563 Key ID (clear): a private type 242 "service parameters" = TEK derivation (1: Alternative 1,
 *         2: Alternative 2) ‖ TGK-ID bytes ‖ TEK_RAND2 bytes of the MKI: what both ends must agree on beyond
 *         the SRTP policy, and no secret
 *   EXT   type 250 "sealed Key IDs" (mikey/sealed-extension.ts), encrypted under a key from the KEK: an RFC 4563
 *         Key ID list of type 0 (Key Domain ID) = MBMS service id and, per TGK, a private type 241 "TGK
 *         validity" = TGK-ID (4) ‖ valid-from (NTP, 8) ‖ expires-at (NTP, 8) (sealed-key-ids.ts): who
 *         subscribes to what, and when keys change, are the founding document's "MBMS-ID" and "TGK_LIFE"
 *   SP    the SRTP policy of the stream (RFC 4563 §7: policy travels with the long-lived key)
 *   KEMAC one Key data sub-payload per TGK: type TGK, KV = SPI with the 4-byte TGK-ID (the MKI prefix)
 *
 * Several TGKs (the current one and the next ones) travel in one message: the implosion mitigation of
 * the founding document.
 */
import type { CryptoCore } from "../wasm/core.js";
import {
  ExtensionType, IdType, KeyDataType, KvType, PayloadType, SrtpAuthAlg, SrtpEncrAlg, TsType,
  buildSrtpParams, readSrtpPolicy, ProtType,
} from "../mikey/codec/index.js";
import type { KeyDataPayload, SpParam, SrtpPolicy } from "../mikey/codec/index.js";
import { ntpFromMs } from "../mikey/ntp.js";
import { defaultCore } from "../wasm/default-core.js";
import { openPskMessage, sealPskMessage, type PskOpenOptions } from "../mikey/psk.js";
import { SRTP_PROFILES, type SrtpProfileName } from "../srtp/profiles.js";
import { MbmsError } from "./errors.js";
import { mkiLayout, type MkiLayout, type TekDerivation } from "./key-hierarchy.js";
import { readServiceParams, serviceParamsEntry } from "./service-parameters.js";
import { EXT_TYPE_SEALED_KEY_IDS } from "../mikey/sealed-extension.js";
import { srtpIdMap, streamsOf, type SrtpStreamPosition } from "./stream-positions.js";
import { decodeSealedKeyIds, encodeSealedKeyIds, type SealedKeyFacts } from "./sealed-key-ids.js";

export { KEY_ID_TGK_VALIDITY } from "./sealed-key-ids.js";

export interface TgkGrant {
  tgkId: number;
  tgk: Uint8Array;
  /** Validity, ms since the epoch. */
  validFrom: number;
  expiresAt: number;
}

export interface MbmsKeyMessageInput {
  kek: Uint8Array;
  bmscId: string;
  userId: string;
  serviceId: string;
  csbId: number;
  tekRand: Uint8Array;
  profile: SrtpProfileName;
  /** How the BM-SC derives TEKs (default "alt1") and the MKI layout it writes (default 4 ‖ 8 bytes). */
  derivation?: TekDerivation;
  layout?: Partial<MkiLayout>;
  tgks: TgkGrant[];
  /** A re-key for a user that holds the service's TEK_RAND: no RAND payload (RFC 3830 §4.5). */
  update?: boolean;
  /**
   * The service's SRTP streams as the BM-SC knows them: each sender's SSRC and its current ROC, so that a
   * receiver joining after a sequence-number wrap gets its first packet's index right (RFC 3711 §3.3.1, the
   * SRTP-ID map of RFC 3830 §6.1.1). None known: one entry SSRC 0, ROC 0, which sets nothing.
   */
  streams?: readonly SrtpStreamPosition[];
  /** Default Date.now(). */
  nowMs?: number;
}

export interface MbmsKeyDelivery {
  bmscId: string;
  userId: string;
  serviceId: string;
  csbId: number;
  /** cs_id of the stream: its 1-based position in the SRTP-ID map. */
  csId: number;
  /** The SRTP-ID map's streams (SSRC, ROC): MbmsKeyMessageInput.streams. */
  streams: SrtpStreamPosition[];
  tekRand: Uint8Array;
  profile: SrtpProfileName;
  derivation: TekDerivation;
  layout: MkiLayout;
  tgks: TgkGrant[];
  /** Whether the message was an update (no RAND payload: `tekRand` is the one the receiver kept). */
  update: boolean;
  /** The message's NTP timestamp (the freshness value a card keeps). */
  timestamp: bigint;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A TGK-ID is the MKI's prefix: it must fit the layout's TGK-ID bytes. */
function checkTgkIdFits(tgkId: number, layout: MkiLayout): void {
  if (tgkId >= 2 ** (8 * layout.tgkIdBytes)) throw new MbmsError("ERR_TGK_ID", `TGK-ID ${tgkId} does not fit the MKI's ${layout.tgkIdBytes}-byte TGK-ID`);
}


/** The SP parameters of an SRTP profile (RFC 3830 §6.10.1). */
function policyOf(name: SrtpProfileName) {
  const p = SRTP_PROFILES[name];
  return buildSrtpParams({
    encrAlg: SrtpEncrAlg.AesCm, encrKeyLen: p.keyLength, authAlg: SrtpAuthAlg.HmacSha1, authKeyLen: p.authKeyLength,
    saltKeyLen: p.saltLength, prf: 0, keyDerivationRate: 0, srtpEncryption: 1, srtcpEncryption: 1, srtpAuthentication: 1,
    authTagLen: p.srtpTagLength,
  });
}

/** RFC 3830 §6.10.1: the value of each SRTP parameter a policy leaves out. */
const SP_DEFAULTS: Required<Pick<SrtpPolicy,
  "encrAlg" | "encrKeyLen" | "authAlg" | "authKeyLen" | "saltKeyLen" | "prf" | "keyDerivationRate" | "srtpEncryption" |
  "srtcpEncryption" | "fecOrder" | "srtpAuthentication" | "authTagLen" | "prefixLen">> = {
  encrAlg: SrtpEncrAlg.AesCm, encrKeyLen: 16, authAlg: SrtpAuthAlg.HmacSha1, authKeyLen: 20, saltKeyLen: 14, prf: 0,
  keyDerivationRate: 0, srtpEncryption: 1, srtcpEncryption: 1, fecOrder: 0, srtpAuthentication: 1, authTagLen: 10, prefixLen: 0,
};

/** A policy with its defaults filled in; undefined when it has parameters beyond the RFC 3830 set. */
function completePolicy(params: readonly SpParam[]): typeof SP_DEFAULTS | undefined {
  const { policy, unknown } = readSrtpPolicy(params);
  const full = { ...SP_DEFAULTS, ...policy };
  return unknown.length === 0 && Object.keys(full).length === Object.keys(SP_DEFAULTS).length ? full : undefined;
}

/**
 * The SRTP profile an SP payload names (RFC 3830 §6.10.1): every parameter, defaults included, must be
 * what this BM-SC writes for that profile (key_derivation_rate 0, AES-CM PRF, encryption and
 * authentication on, no FEC or prefix); anything else is refused, never half-applied.
 */
export function profileOf(params: readonly SpParam[]): SrtpProfileName {
  const policy = completePolicy(params);
  const same = (name: SrtpProfileName) => {
    const expected = completePolicy(policyOf(name))!;
    return policy !== undefined && (Object.keys(expected) as (keyof typeof expected)[]).every((k) => policy[k] === expected[k]);
  };
  const match = (Object.keys(SRTP_PROFILES) as SrtpProfileName[]).find(same);
  if (!match) throw new MbmsError("ERR_ARGUMENT", "the message's SRTP policy is not one of the supported profiles as this BM-SC writes them");
  return match;
}

/** Builds the MBMS key message for one user (BM-SC side). */
export function buildMbmsKeyMessage(input: MbmsKeyMessageInput, core: CryptoCore = defaultCore()): Uint8Array {
  if (input.tgks.length === 0) throw new MbmsError("ERR_ARGUMENT", "a key message carries at least one TGK");
  const layout = mkiLayout(input.layout);
  for (const g of input.tgks) checkTgkIdFits(g.tgkId, layout);
  const keys: KeyDataPayload[] = input.tgks.map((g) => {
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, g.tgkId >>> 0);
    return { keyType: KeyDataType.Tgk, key: g.tgk, kv: { kvType: KvType.Spi, spi } };
  });
  const sealedKeyIds = encodeSealedKeyIds({ serviceId: input.serviceId, tgks: input.tgks });
  try {
    return sealPskMessage({
      psk: input.kek,
      csbId: input.csbId,
      srtpMap: srtpIdMap(input.streams ?? []),
      ...(input.update ? { initialRand: input.tekRand } : { rand: input.tekRand }),
      timestamp: { tsType: TsType.NtpUtc, value: ntpFromMs(input.nowMs ?? Date.now()) },
      idi: { idType: IdType.Uri, id: utf8.encode(input.bmscId) },
      idr: { idType: IdType.Uri, id: utf8.encode(input.userId) },
      extensions: [{ type: PayloadType.GeneralExtension, extType: ExtensionType.KeyId, keyIds: [serviceParamsEntry(input.derivation ?? "alt1", layout)] }],
      sealedExtensions: [{ extType: EXT_TYPE_SEALED_KEY_IDS, data: sealedKeyIds }],
      policies: [{ policyNo: 0, protType: ProtType.Srtp, params: policyOf(input.profile) }],
      keys,
    }, core);
  } finally {
    sealedKeyIds.fill(0);
  }
}

/**
 * Opens an MBMS key message (UE side, or inside the card): the PSK checks of openPskMessage (timestamp,
 * replay, MAC before decryption), then the profile's structure. `kek` may be a lookup by user id; a re-key
 * (no RAND) needs the service's TEK_RAND kept from the initial message, `tekRand` (ERR_NO_RAND without).
 */
export function openMbmsKeyMessage(
  bytes: Uint8Array,
  options: Omit<PskOpenOptions, "psk" | "initialRand"> & {
    kek: Uint8Array | ((userId: string) => Uint8Array | undefined);
    tekRand?: PskOpenOptions["initialRand"];
  },
  core: CryptoCore = defaultCore(),
): MbmsKeyDelivery {
  const { kek, tekRand, ...rest } = options;
  const opened = openPskMessage(bytes, {
    ...rest,
    ...(tekRand ? { initialRand: tekRand } : {}),
    psk: typeof kek === "function"
      ? (m) => {
          const ids = m.payloads.filter((p) => p.type === PayloadType.ID);
          const idr = ids[1];
          return idr && idr.type === PayloadType.ID ? kek(text.decode(idr.id)) : undefined;
        }
      : kek,
    sealedExtensionTypes: [EXT_TYPE_SEALED_KEY_IDS],
  }, core);
  try {
    const sealed = readSealed(opened.sealedExtensions);
    const keyIds = opened.extensions.flatMap((e) => ("keyIds" in e ? e.keyIds : []));
    const validity = new Map(sealed.tgks.map((g) => [g.tgkId, { validFrom: g.validFrom, expiresAt: g.expiresAt }] as const));
    if (!opened.idi || !opened.idr || opened.message.header.srtpMap.length === 0 || opened.policies.length === 0) {
      throw new MbmsError("ERR_ARGUMENT", "not an MBMS key message (identities, CS map or policy missing)");
    }
    const params = readServiceParams(keyIds);
    const tgks = opened.keys.map((k) => {
      if (k.keyType !== KeyDataType.Tgk || k.kv.kvType !== KvType.Spi || k.kv.spi.length !== 4) {
        throw new MbmsError("ERR_ARGUMENT", "an MBMS key message carries TGKs named by a 4-byte TGK-ID");
      }
      const tgkId = new DataView(k.kv.spi.buffer, k.kv.spi.byteOffset, 4).getUint32(0);
      checkTgkIdFits(tgkId, params.layout);
      const life = validity.get(tgkId);
      if (!life) throw new MbmsError("ERR_ARGUMENT", `no validity for TGK-ID ${tgkId}`);
      return { tgkId, tgk: k.key, ...life };
    });
    return {
      bmscId: text.decode(opened.idi.id), userId: text.decode(opened.idr.id), serviceId: sealed.serviceId,
      csbId: opened.csbId, csId: 1, streams: streamsOf(opened.message.header.srtpMap), tekRand: opened.rand.slice(),
      profile: profileOf(opened.policies[0]!.params), ...params, tgks, timestamp: opened.timestamp.value,
      update: !opened.message.payloads.some((p) => p.type === PayloadType.RAND),
    };
  } catch (e) {
    for (const k of opened.keys) k.key.fill(0); // refused: no TGK outlives the refusal
    throw e;
  }
}

/** The one sealed Key ID list of the message (read, then zeroed); a message without it is no MBMS key message. */
function readSealed(list: readonly { extType: number; data: Uint8Array }[]): SealedKeyFacts {
  try {
    if (list.length !== 1) throw new MbmsError("ERR_ARGUMENT", "not an MBMS key message (no sealed Key ID extension, or several)");
    return decodeSealedKeyIds(list[0]!.data);
  } finally {
    for (const e of list) e.data.fill(0);
  }
}
