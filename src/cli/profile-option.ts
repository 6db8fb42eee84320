/** `--profile` and `--derivation`: the SRTP profile and the TEK derivation of a MIKEY-keyed service. */
import type { TekDerivation } from "../mbms/key-hierarchy.js";
import { SRTP_PROFILES, type SrtpProfileName } from "../srtp/profiles.js";
import { UsageError } from "./usage-error.js";

const PROFILE_NAMES = Object.keys(SRTP_PROFILES) as SrtpProfileName[];

/** The usage texts' lines for --profile. */
export const PROFILE_USAGE = `  --profile <name>         the service's SRTP profile: AES_CM_128_HMAC_SHA1_80 (default), AES_CM_128_HMAC_SHA1_32,
                           AES_256_CM_HMAC_SHA1_80 or AES_256_CM_HMAC_SHA1_32 (TGKs and TEKs of 32 bytes)`;

/** The profile named by `--profile`, undefined when absent (the service's own, by default AES_CM_128_HMAC_SHA1_80). */
export function profileOption(value: string | undefined): SrtpProfileName | undefined {
  if (value === undefined) return undefined;
  if (!(PROFILE_NAMES as string[]).includes(value)) throw new UsageError(`--profile: unknown SRTP profile ${JSON.stringify(value)} (one of ${PROFILE_NAMES.join(", ")})`);
  return value as SrtpProfileName;
}

/** The usage texts' lines for --derivation. */
export const DERIVATION_USAGE = `  --derivation <alt>       the BM-SC's TEK derivation: alt1 (default: TEK from TGK, TEK_RAND and TEK_RAND2) or alt2
                           (SK-TGK from TGK and TGK_RAND, then the TEK); receivers read it from the key message`;

/** The derivation named by `--derivation`, undefined when absent (Alternative 1). */
export function derivationOption(value: string | undefined): TekDerivation | undefined {
  if (value === undefined) return undefined;
  if (value !== "alt1" && value !== "alt2") throw new UsageError(`--derivation: ${JSON.stringify(value)} is neither alt1 nor alt2`);
  return value;
}
