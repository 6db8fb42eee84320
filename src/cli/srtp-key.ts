/**
 * One fixed SRTP master key, written as SDES writes it (RFC 4568 §6.1): `inline:` base64(key ‖ salt), for
 * the AES-128 profiles a 16-byte key ‖ 14-byte salt = 30 bytes = 40 base64 characters. This is what
 * ffmpeg's `-srtp_out_params` / `-srtp_in_params` take. No key lifetime and no MKI (`|…` is refused):
 * the key never changes, so a stream keyed this way is the no-MKI case of RFC 3711 §3.1.
 *
 * A key file holds the bare base64, an `inline:` parameter, one `a=crypto:` line, or a whole SDP with
 * exactly one `a=crypto:` line. Errors never show the file's content.
 */
import { readFileSync } from "node:fs";
import { SrtpContext } from "../srtp/index.js";
import { UsageError } from "./usage-error.js";

export const SDES_PROFILES = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"] as const;
export type SdesProfile = (typeof SDES_PROFILES)[number];

/** The DTLS-SRTP names (RFC 5764 §4.1.2) that ffmpeg also accepts as suites. */
const ALIASES: Record<string, SdesProfile> = {
  SRTP_AES128_CM_HMAC_SHA1_80: "AES_CM_128_HMAC_SHA1_80",
  SRTP_AES128_CM_HMAC_SHA1_32: "AES_CM_128_HMAC_SHA1_32",
};

export interface SrtpKey {
  profile: SdesProfile;
  /** 16 bytes. Whoever installs it in an SrtpContext zeroes it. */
  key: Uint8Array;
  /** 14 bytes. */
  salt: Uint8Array;
}

export class KeyFileError extends UsageError {}

const KEY_BYTES = 16;
const SALT_BYTES = 14;

export function sdesProfile(name: string, what: string): SdesProfile {
  const p = (SDES_PROFILES as readonly string[]).includes(name) ? (name as SdesProfile) : ALIASES[name];
  if (!p) throw new UsageError(`${what}: unsupported SRTP profile ${JSON.stringify(name)} (${SDES_PROFILES.join(" or ")})`);
  return p;
}

/** The key in `text` (see the module comment); `profile` (e.g. --srtp-profile) must agree with an a=crypto suite. */
export function parseSrtpKey(text: string, what: string, profile?: SdesProfile): SrtpKey {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const crypto = lines.filter((l) => /^a=crypto:/.test(l));
  if (crypto.length > 1) throw new KeyFileError(`${what}: ${crypto.length} a=crypto lines, expected one`);
  const line = crypto[0] ?? (lines.length === 1 ? lines[0]! : undefined);
  if (line === undefined) throw new KeyFileError(`${what}: expected one line (base64 key ‖ salt, inline:…, or a=crypto:…), got ${lines.length}`);
  // a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] (RFC 4568 §4); session params are refused.
  const attr = /^(?:a=)?crypto:\d{1,9}\s+(\S+)\s+(\S+)(\s+\S.*)?$/.exec(line);
  if (attr?.[3] !== undefined) throw new KeyFileError(`${what}: SDES session parameters are not supported`);
  const suite = attr ? sdesProfile(attr[1]!, what) : undefined;
  if (suite && profile && suite !== profile) throw new KeyFileError(`${what}: the key is for ${suite}, not ${profile}`);
  const params = attr ? attr[2]! : line;
  const b64 = params.startsWith("inline:") ? params.slice("inline:".length) : params;
  if (b64.includes("|")) throw new KeyFileError(`${what}: a key lifetime or MKI (inline:…|…) is not supported (no MKI mode)`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new KeyFileError(`${what}: the key is not base64`);
  const bytes = Math.floor((b64.replace(/=+$/, "").length * 3) / 4);
  if (bytes !== KEY_BYTES + SALT_BYTES) {
    throw new KeyFileError(`${what}: expected ${KEY_BYTES + SALT_BYTES} bytes (${KEY_BYTES}-byte key ‖ ${SALT_BYTES}-byte salt, 40 base64 characters), got ${bytes}`);
  }
  const raw = Buffer.from(b64, "base64");
  const k = { profile: suite ?? profile ?? SDES_PROFILES[0], key: Uint8Array.from(raw.subarray(0, KEY_BYTES)), salt: Uint8Array.from(raw.subarray(KEY_BYTES)) };
  raw.fill(0);
  return k;
}

export function readSrtpKeyFile(path: string, profile?: SdesProfile): SrtpKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new KeyFileError((e as Error).message);
  }
  return parseSrtpKey(text, path, profile);
}

/** The SDP attribute for `k` (RFC 4568 §9.1): it carries the key, so it goes only into a 0600 file. */
export function cryptoAttribute(k: SrtpKey): string {
  const raw = Buffer.concat([k.key, k.salt]);
  const line = `a=crypto:1 ${k.profile} inline:${raw.toString("base64")}`;
  raw.fill(0);
  return line;
}

/** A no-MKI SrtpContext with `k` as its only master key; `k`'s bytes are zeroed (the core holds its copy). */
export function fixedKeyContext(k: SrtpKey): SrtpContext {
  try {
    return new SrtpContext({ profile: k.profile, keys: [{ key: k.key, salt: k.salt }] });
  } finally {
    k.key.fill(0);
    k.salt.fill(0);
  }
}
