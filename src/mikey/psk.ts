/**
 * MIKEY pre-shared-key messages (RFC 3830 §3.1, §4.2, §5): the Initiator's message carrying keys in a
 * KEMAC encrypted with AES-CM-128 and MACed with HMAC-SHA-1, and its opening by the Responder, which
 * checks the timestamp, the replay cache and the MAC (in constant time) before decrypting anything. General
 * Extensions may be sealed (sealed-extension.ts): encrypted under a key of their own, opened after the MAC.
 */
import type { CryptoCore } from "../wasm/core.js";
import {
  CsIdMapType, DataType, EncrAlg, MacAlg, PayloadType, TsType,
  decodeKeyDataList, decodeMessage, encodeKeyDataList, encodeMessageWithLayout, timestamp64,
  type DecodedMessage, type GeneralExtensionPayload, type IdPayload, type KeyDataPayload, type MikeyPayload,
  type SpPayload, type SrtpIdEntry, type TimestampPayload,
} from "./codec/index.js";
import { MikeyError } from "./errors.js";
import { msFromNtp, ntpFromMs } from "./ntp.js";
import { defaultCore } from "../wasm/default-core.js";
import type { ReplayCache, ReplayRefusal } from "./replay-cache.js";
import { withTransportKeys, kemacIv, type TransportKeys } from "./transport.js";
import { openExtensions, sealExtensions, sealedOf, type SealedExtension } from "./sealed-extension.js";

export interface PskMessageInput {
  /** The pre-shared key (for MBMS: the user's KEK). */
  psk: Uint8Array;
  csbId: number;
  /** The SRTP-ID crypto-session map (§6.1.1); one entry per crypto session. */
  srtpMap: SrtpIdEntry[];
  /** RAND (≥ 16 bytes) for an initial message; omitted in an update, which reuses `updateOf`'s. */
  rand?: Uint8Array;
  /** For an update (no RAND payload, §4.5): the RAND of the initial exchange, to derive the keys. */
  initialRand?: Uint8Array;
  /** Default: NTP-UTC now. Every message needs a unique T (§5.3). */
  timestamp?: { tsType: TsType; value: bigint };
  idi?: Omit<IdPayload, "type">;
  idr?: Omit<IdPayload, "type">;
  policies?: Omit<SpPayload, "type">[];
  extensions?: GeneralExtensionPayload[];
  /** General Extensions whose Data is encrypted under ext_key (sealed-extension.ts), placed after `extensions`. */
  sealedExtensions?: SealedExtension[];
  keys: KeyDataPayload[];
  /** Ask the Responder for a Verification message (§5.1.1). */
  verify?: boolean;
}

/** Builds and protects a PSK Initiator message. */
export function sealPskMessage(input: PskMessageInput, core: CryptoCore = defaultCore()): Uint8Array {
  const rand = input.rand ?? input.initialRand;
  if (!rand) throw new MikeyError("ERR_NO_RAND", "a PSK message needs RAND, or the initial exchange's RAND for an update");
  const timestamp: TimestampPayload = { type: PayloadType.T, ...(input.timestamp ?? { tsType: TsType.NtpUtc, value: ntpFromMs(Date.now()) }) };
  const sealing = input.sealedExtensions ?? [];
  return withTransportKeys(core, input.psk, input.csbId, rand, (keys) => {
    const iv = kemacIv(keys.saltKey, input.csbId, timestamp64(timestamp));
    const plain = encodeKeyDataList(input.keys);
    const encrData = keys.encrypt(plain, iv);
    plain.fill(0);
    const sealed = sealing.length > 0 ? sealExtensions(sealing, keys.encryptSealed!, iv) : [];
    const payloads: MikeyPayload[] = [
      timestamp,
      ...(input.rand ? [{ type: PayloadType.RAND, rand: input.rand } as const] : []),
      ...(input.idi ? [{ type: PayloadType.ID, ...input.idi } as const] : []),
      ...(input.idr ? [{ type: PayloadType.ID, ...input.idr } as const] : []),
      ...(input.extensions ?? []),
      ...sealed,
      ...(input.policies ?? []).map((p) => ({ type: PayloadType.SP, ...p }) as const),
      { type: PayloadType.KEMAC, encrAlg: EncrAlg.AesCm128, encrData, macAlg: MacAlg.HmacSha1_160, mac: new Uint8Array(20) },
    ];
    const header = {
      version: 1, dataType: DataType.PskInit, v: input.verify ?? false, prfFunc: 0, csbId: input.csbId,
      csIdMapType: CsIdMapType.SrtpId, csCount: input.srtpMap.length, srtpMap: input.srtpMap,
    };
    const { bytes, macOffset } = encodeMessageWithLayout({ header, payloads });
    // §5.2: the MAC covers the whole message up to (not including) the MAC field.
    bytes.set(keys.mac(bytes.subarray(0, macOffset!)), macOffset!);
    return bytes;
  }, { extensionKey: sealing.length > 0 });
}

export interface PskOpenOptions {
  /** The pre-shared key, or a lookup by the message's identities (undefined: ERR_NO_PSK). */
  psk: Uint8Array | ((message: DecodedMessage) => Uint8Array | undefined);
  /**
   * The RAND of the initial exchange, needed to open an update (a message without RAND, §4.5), or a lookup
   * by the message's CSB ID (undefined: none kept).
   */
  initialRand?: Uint8Array | ((csbId: number) => Uint8Array | undefined);
  /**
   * Authenticated messages are remembered here while their timestamp is fresh; a repeat is ERR_REPLAY,
   * and a full cache refuses with ERR_REPLAY_CACHE_FULL (§5.4).
   */
  replayCache?: ReplayCache;
  /** Allowed clock skew for NTP timestamps, ms (default DEFAULT_CLOCK_SKEW_MS). */
  clockSkewMs?: number;
  /** Current time, ms (default Date.now()). */
  nowMs?: number;
  /** For COUNTER timestamps (no clock, e.g. a card): only T greater than this is fresh. */
  lastCounter?: bigint;
  /**
   * The General Extension types the sealer encrypted (sealed-extension.ts), e.g. [EXT_TYPE_SEALED_KEY_IDS]: those
   * are decrypted after the MAC verified and returned as `sealedExtensions`. Others stay in `extensions` as sent.
   */
  sealedExtensionTypes?: number[];
}

/** The allowed clock skew when none is given (RFC 3830 §5.4 leaves it to the implementation). */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

export interface OpenedPskMessage {
  message: DecodedMessage;
  csbId: number;
  rand: Uint8Array;
  timestamp: TimestampPayload;
  keys: KeyDataPayload[];
  idi?: IdPayload;
  idr?: IdPayload;
  policies: SpPayload[];
  /** The clear General Extensions (and any sealed one whose type was not named: still ciphertext). */
  extensions: GeneralExtensionPayload[];
  /** The decrypted sealed extensions, in message order: views of one array, the caller's to zero once read. */
  sealedExtensions: SealedExtension[];
}

/**
 * Opens a PSK Initiator message: decode, timestamp (§5.3 step 1), replay cache (2), MAC in constant
 * time (3), and only then decrypt the keys and remember the message (4). Throws MikeyError; nothing is
 * decrypted or cached for a message that fails any check.
 */
export function openPskMessage(bytes: Uint8Array, options: PskOpenOptions, core: CryptoCore = defaultCore()): OpenedPskMessage {
  const message = decodeMessage(bytes);
  if (message.header.dataType !== DataType.PskInit) throw new MikeyError("ERR_UNSUPPORTED", "not a PSK Initiator message");
  const find = <T extends MikeyPayload["type"]>(type: T) => message.payloads.filter((p) => p.type === type) as Extract<MikeyPayload, { type: T }>[];
  const timestamp = find(PayloadType.T)[0]!;
  const kemac = find(PayloadType.KEMAC)[0]!;
  const ids = find(PayloadType.ID);
  const nowMs = options.nowMs ?? Date.now();
  const freshUntil = checkFreshness(timestamp, options, nowMs);
  const replayId = hexOf(kemac.mac);
  const cache = options.replayCache;
  const refused = cache?.refusal(replayId, nowMs);
  if (refused !== undefined) throw replayError(refused);
  if (kemac.macAlg !== MacAlg.HmacSha1_160) throw new MikeyError("ERR_UNSUPPORTED", "a PSK message needs HMAC-SHA-1 (RFC 3830 §4.2.4)");
  if (kemac.encrAlg !== EncrAlg.AesCm128 && kemac.encrAlg !== EncrAlg.Null) throw new MikeyError("ERR_UNSUPPORTED", `encryption algorithm ${kemac.encrAlg}`);
  const initial = options.initialRand;
  const rand = find(PayloadType.RAND)[0]?.rand ?? (typeof initial === "function" ? initial(message.header.csbId) : initial);
  if (!rand) throw new MikeyError("ERR_NO_RAND", "an update needs the RAND of the initial exchange");
  const psk = typeof options.psk === "function" ? options.psk(message) : options.psk;
  if (!psk) throw new MikeyError("ERR_NO_PSK", "no pre-shared key for this message");
  const csbId = message.header.csbId;
  const allExtensions = find(PayloadType.GeneralExtension);
  const sealed = sealedOf(allExtensions, options.sealedExtensionTypes ?? []);
  const { keys, sealedExtensions } = withTransportKeys(core, psk, csbId, rand, (transport) => {
    if (!transport.verify(bytes.subarray(0, message.macOffset!), kemac.mac)) {
      throw new MikeyError("ERR_AUTH", "the MAC does not verify");
    }
    const iv = kemacIv(transport.saltKey, csbId, timestamp64(timestamp));
    const opened = sealed.length > 0 ? openExtensions(sealed, transport.encryptSealed!, iv) : [];
    try {
      if (kemac.encrAlg === EncrAlg.Null) return { keys: decodeKeyDataList(kemac.encrData), sealedExtensions: opened };
      const plain = transport.encrypt(kemac.encrData, iv);
      try {
        return { keys: decodeKeyDataList(plain), sealedExtensions: opened };
      } finally {
        plain.fill(0);
      }
    } catch (e) {
      for (const x of opened) x.data.fill(0);
      throw e;
    }
  }, { extensionKey: sealed.length > 0 });
  // Remembered as long as its timestamp passes the freshness check (a counter: the cache's own window).
  cache?.remember(replayId, freshUntil ?? nowMs + cache.skewMs);
  return {
    message, csbId, rand, timestamp, keys, idi: ids[0], idr: ids[1],
    policies: find(PayloadType.SP), extensions: allExtensions.filter((e) => !sealed.includes(e as never)), sealedExtensions,
  };
}

/** §5.3 step 1; returns until when an NTP timestamp stays fresh (undefined for a counter). */
function checkFreshness(t: TimestampPayload, options: PskOpenOptions, nowMs: number): number | undefined {
  if (t.tsType === TsType.Counter) {
    if (options.lastCounter !== undefined && t.value <= options.lastCounter) {
      throw new MikeyError("ERR_TIMESTAMP", "counter not above the last one accepted");
    }
    return undefined;
  }
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const tMs = msFromNtp(t.value);
  if (Math.abs(tMs - nowMs) > skew) throw new MikeyError("ERR_TIMESTAMP", "timestamp outside the allowed clock skew");
  return tMs + skew;
}

function replayError(refused: ReplayRefusal): MikeyError {
  return refused === "replay"
    ? new MikeyError("ERR_REPLAY", "message already received")
    : new MikeyError("ERR_REPLAY_CACHE_FULL", "the replay cache is full: refusing messages until it has room");
}

const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export type { TransportKeys };
