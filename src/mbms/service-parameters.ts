/**
 * What both ends of a service must agree on beyond the key itself: the SRTP profile (the key message's SP
 * payload), the TEK derivation (Alternative 1 or 2) and the MKI layout. The key message carries the last
 * two in a private Key ID entry (type 242, RFC 4563 §8: types 241–255 are for private use), so that a
 * receiver derives and parses as its BM-SC does with no setting of its own to get wrong; a receiver that
 * is configured anyway refuses a service that disagrees (ERR_SERVICE_PARAMETERS), instead of failing
 * every packet's tag.
 */
import type { KeyIdEntry } from "../mikey/codec/index.js";
import type { SrtpProfileName } from "../srtp/profiles.js";
import { MbmsError } from "./errors.js";
import { DEFAULT_MKI_LAYOUT, mkiLayout, type MkiLayout, type TekDerivation } from "./key-hierarchy.js";

export const KEY_ID_SERVICE_PARAMS = 242;
const DERIVATION_CODES: Record<TekDerivation, number> = { alt1: 1, alt2: 2 };

export interface ServiceParameters {
  profile: SrtpProfileName;
  derivation: TekDerivation;
  layout: MkiLayout;
}

/** Key ID type 242: TEK derivation (1: Alternative 1, 2: Alternative 2) ‖ TGK-ID bytes ‖ TEK_RAND2 bytes. */
export function serviceParamsEntry(derivation: TekDerivation, layout: MkiLayout): KeyIdEntry {
  return { keyIdType: KEY_ID_SERVICE_PARAMS, keyId: Uint8Array.of(DERIVATION_CODES[derivation], layout.tgkIdBytes, layout.randBytes) };
}

/** The derivation and layout of a message's Key ID entries; ERR_ARGUMENT when the entry is missing or unknown. */
export function readServiceParams(keyIds: readonly KeyIdEntry[]): { derivation: TekDerivation; layout: MkiLayout } {
  const entry = keyIds.find((k) => k.keyIdType === KEY_ID_SERVICE_PARAMS);
  if (!entry || entry.keyId.length !== 3) throw new MbmsError("ERR_ARGUMENT", "the key message names no service parameters (Key ID type 242)");
  const derivation = (Object.keys(DERIVATION_CODES) as TekDerivation[]).find((d) => DERIVATION_CODES[d] === entry.keyId[0]);
  if (!derivation) throw new MbmsError("ERR_ARGUMENT", `the key message names an unknown TEK derivation ${entry.keyId[0]}`);
  return { derivation, layout: mkiLayout({ tgkIdBytes: entry.keyId[1]!, randBytes: entry.keyId[2]! }) };
}

export interface ConfiguredParameters {
  profile?: SrtpProfileName | undefined;
  derivation?: TekDerivation | undefined;
  layout?: Partial<MkiLayout> | undefined;
}

/**
 * A receiver's view of its service: empty until the first key message, then fixed. A message (or the
 * receiver's own configuration) that disagrees is refused, with nothing changed.
 */
export class ServiceParametersLatch {
  private value: ServiceParameters | undefined;
  private readonly configured: ConfiguredParameters;

  constructor(configured: ConfiguredParameters = {}) {
    this.configured = { ...configured, ...(configured.layout ? { layout: mkiLayout(configured.layout) } : {}) };
  }

  /** The service's parameters, once a key message told them. */
  get current(): ServiceParameters | undefined {
    return this.value;
  }

  /** The MKI layout to parse packets with: the service's, else the configured one, else the default. */
  get layout(): MkiLayout {
    return this.value?.layout ?? mkiLayout(this.configured.layout ?? DEFAULT_MKI_LAYOUT);
  }

  /** Throws ERR_SERVICE_PARAMETERS when `p` disagrees with what is configured or already known. */
  check(p: ServiceParameters): void {
    const known = this.value ?? this.configured;
    const differs = (Object.keys(p) as (keyof ServiceParameters)[]).filter((k) => {
      const have = known[k];
      return have !== undefined && JSON.stringify(have) !== JSON.stringify(p[k]);
    });
    if (differs.length > 0) {
      const show = (x: unknown) => (typeof x === "object" ? `${(x as MkiLayout).tgkIdBytes}+${(x as MkiLayout).randBytes}` : String(x));
      throw new MbmsError("ERR_SERVICE_PARAMETERS", differs.map((k) => `${k}: receiver ${show(known[k])}, key message ${show(p[k])}`).join("; "));
    }
  }

  /** check, then remember. */
  adopt(p: ServiceParameters): void {
    this.check(p);
    this.value ??= { profile: p.profile, derivation: p.derivation, layout: p.layout };
  }
}
