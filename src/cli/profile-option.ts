/** `--profile`: the SRTP profile of a MIKEY-keyed service (its TGKs and TEKs are 16 or 32 bytes accordingly). */
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
