/**
 * SRTP protection profiles (RFC 3711 §8.2, RFC 4568 §6.2, RFC 6188). The table is keyed by the IANA/SDES
 * name; an AEAD entry (RFC 7714) would add a `kind` field here, the rest of the engine reads only these.
 */
export interface SrtpProfile {
  readonly name: SrtpProfileName;
  /** Master key and session encryption key length (bytes); the KDF is AES-CM with the same key size. */
  readonly keyLength: number;
  /** Master and session salt length (bytes). */
  readonly saltLength: number;
  /** Session authentication key length (bytes), HMAC-SHA1 n_a. */
  readonly authKeyLength: number;
  /** SRTP tag length (bytes). */
  readonly srtpTagLength: number;
  /** SRTCP tag length (bytes): RFC 3711 §5.2 forbids shortening it, so _32 profiles keep 10. */
  readonly srtcpTagLength: number;
}

export type SrtpProfileName =
  | "AES_CM_128_HMAC_SHA1_80"
  | "AES_CM_128_HMAC_SHA1_32"
  | "AES_256_CM_HMAC_SHA1_80"
  | "AES_256_CM_HMAC_SHA1_32";

const profile = (name: SrtpProfileName, keyLength: number, srtpTagLength: number): SrtpProfile =>
  Object.freeze({ name, keyLength, saltLength: 14, authKeyLength: 20, srtpTagLength, srtcpTagLength: 10 });

export const SRTP_PROFILES: Readonly<Record<SrtpProfileName, SrtpProfile>> = Object.freeze({
  AES_CM_128_HMAC_SHA1_80: profile("AES_CM_128_HMAC_SHA1_80", 16, 10),
  AES_CM_128_HMAC_SHA1_32: profile("AES_CM_128_HMAC_SHA1_32", 16, 4),
  AES_256_CM_HMAC_SHA1_80: profile("AES_256_CM_HMAC_SHA1_80", 32, 10),
  AES_256_CM_HMAC_SHA1_32: profile("AES_256_CM_HMAC_SHA1_32", 32, 4),
});

export const DEFAULT_PROFILE: SrtpProfileName = "AES_CM_128_HMAC_SHA1_80";
