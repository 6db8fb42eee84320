/**
 * A service's configuration as the Session Manager takes it: the options, their defaults, and the checks
 * that refuse at configuration what receivers could not follow (docs/mikey-profile.md, "Service options").
 */
import { DEFAULT_PROFILE, SRTP_PROFILES, type SrtpProfileName } from "../../srtp/profiles.js";
import { MbmsError } from "../errors.js";
import type { MkiLayout, TekDerivation } from "../key-hierarchy.js";
import type { AsyncKeyStore, ServiceRecord } from "./store/index.js";

export interface ServiceConfig {
  serviceId: string;
  /** CSB ID of the service's MIKEY messages (default: random u32 when the service is created). */
  csbId?: number;
  /**
   * cs_id of the SRTP crypto session: 1, the only value a key message can carry. RFC 3830 §4.1.3 derives
   * the TEK with the cs_id, and §6.1.1 numbers crypto sessions by their position in the CS ID map; the
   * MBMS key message maps one stream, so receivers derive with 1 and any other value is refused.
   */
  csId?: number;
  /** SRTP profile (default AES_CM_128_HMAC_SHA1_80); TEKs are its master key length (16 or 32 bytes). */
  profile?: SrtpProfileName;
  /**
   * TGK length, 16 or 32 bytes (default: the profile's key length). The key message carries the TGK, so
   * receivers need no setting; a stored service keeps the length of its TGKs.
   */
  tgkLength?: 16 | 32;
  /** TGK_LIFE (default 24 h). */
  tgkLifetimeMs?: number;
  /** TEK_RAND2 period (default 10 min). */
  tekRand2PeriodMs?: number;
  /** How long before the current TGK expires the next one is generated (default tgkLifetimeMs / 4). */
  nextTgkLeadMs?: number;
}

/** A managed service's settings, checked and with their defaults. */
export interface ServiceSettings {
  readonly serviceId: string;
  readonly profile: SrtpProfileName;
  /** TEK length: the profile's master key (16 or 32). */
  readonly tekLength: 16 | 32;
  readonly tgkLength: 16 | 32;
  readonly tgkLifetimeMs: number;
  readonly tekRand2PeriodMs: number;
  readonly nextTgkLeadMs: number;
}

/** The cs_id receivers derive with: the stream's position in the key message's SRTP-ID map (RFC 3830 §6.1.1). */
export const KEY_MESSAGE_CS_ID = 1;
const CS_ID_REFUSED = "cs_id must be 1, the stream's position in the key message's CS ID map (receivers derive with it)";

const HOUR = 3_600_000;
const DEFAULT_LIFETIME = 24 * HOUR;
const DEFAULT_PERIOD = 10 * 60_000;

export function positiveInt(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new MbmsError("ERR_ARGUMENT", `${what} must be a positive integer of milliseconds`);
  return v;
}

/** Checks `config` and fills in its defaults (ERR_ARGUMENT for what no receiver could follow). */
export function serviceSettings(config: ServiceConfig): ServiceSettings {
  if (!config || typeof config !== "object") throw new MbmsError("ERR_ARGUMENT", "service config must be an object");
  const profile = config.profile ?? DEFAULT_PROFILE;
  const p = SRTP_PROFILES[profile];
  if (!p) throw new MbmsError("ERR_ARGUMENT", "unknown SRTP profile");
  const tgkLifetimeMs = positiveInt("tgkLifetimeMs", config.tgkLifetimeMs ?? DEFAULT_LIFETIME);
  const tekRand2PeriodMs = positiveInt("tekRand2PeriodMs", config.tekRand2PeriodMs ?? DEFAULT_PERIOD);
  const nextTgkLeadMs = positiveInt("nextTgkLeadMs", config.nextTgkLeadMs ?? Math.max(1, Math.floor(tgkLifetimeMs / 4)));
  if (nextTgkLeadMs >= tgkLifetimeMs) throw new MbmsError("ERR_ARGUMENT", "nextTgkLeadMs must be shorter than tgkLifetimeMs");
  if (config.csId !== undefined && config.csId !== KEY_MESSAGE_CS_ID) throw new MbmsError("ERR_ARGUMENT", CS_ID_REFUSED);
  const tekLength = p.keyLength as 16 | 32;
  const tgkLength = config.tgkLength ?? tekLength;
  if (tgkLength !== 16 && tgkLength !== 32) throw new MbmsError("ERR_ARGUMENT", "tgkLength is 16 or 32 bytes");
  return { serviceId: config.serviceId, profile, tekLength, tgkLength, tgkLifetimeMs, tekRand2PeriodMs, nextTgkLeadMs };
}

/** How a BM-SC derives TEKs and lays out MKIs, as the store keeps it: "alt1 4+8". */
export function tekScheme(derivation: TekDerivation, layout: MkiLayout): string {
  return `${derivation} ${layout.tgkIdBytes}+${layout.randBytes}`;
}

/**
 * A stored service resumed under `config` by a BM-SC of `scheme`: it must be the same service (CSB ID,
 * cs_id, profile, TGK length, and the TEK scheme when stored) — else the same MKI would name another TEK.
 */
export async function checkStoredService(
  store: AsyncKeyStore, rec: ServiceRecord, config: ServiceConfig, settings: ServiceSettings, scheme: string,
): Promise<void> {
  if (config.csbId !== undefined && config.csbId !== rec.csbId) throw new MbmsError("ERR_ARGUMENT", "the stored service has another CSB ID");
  if (rec.csId !== KEY_MESSAGE_CS_ID) throw new MbmsError("ERR_ARGUMENT", `the stored service has cs_id ${rec.csId}: ${CS_ID_REFUSED}`);
  if (rec.srtpProfile !== settings.profile) throw new MbmsError("ERR_ARGUMENT", "the stored service has another SRTP profile");
  if (rec.tekScheme !== undefined && rec.tekScheme !== scheme) {
    throw new MbmsError("ERR_ARGUMENT", `the stored service derives TEKs as "${rec.tekScheme}", this BM-SC as "${scheme}" (derivation and MKI layout)`);
  }
  const stored = (await store.listTgks(rec.serviceId)).map((t) => t.tgk.fill(0).length);
  const other = stored.find((length) => length !== settings.tgkLength);
  if (other) throw new MbmsError("ERR_ARGUMENT", `the stored service's TGKs are ${other} bytes, not ${settings.tgkLength}`);
}

/** The stored record of a managed service (ERR_NOT_FOUND if the store lost it); the caller zeroes its tekRand. */
export async function storedService(store: AsyncKeyStore, serviceId: string): Promise<ServiceRecord> {
  const rec = await store.getService(serviceId);
  if (!rec) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not found`);
  return rec;
}
