/**
 * The options of the fixed-key mode of `send` and `receive` (one SRTP master key, no MKI, no MIKEY):
 * --srtp-key-file, --srtp-profile, and send's --sdp-in/--sdp-out. Nothing here prints or echoes key bytes.
 */
import { readSrtpKeyFile, sdesProfile, type SrtpKey } from "./srtp-key.js";
import { UsageError } from "./usage-error.js";

type Values = Partial<Record<string, string | boolean | string[]>>;

const given = (v: Values[string]) => v !== undefined && v !== false;

/**
 * The key of --srtp-key-file, or undefined without it. `mikeyOptions` (the key server's, --plain) conflict
 * with it; --srtp-profile, --sdp-in and --sdp-out need it, and --sdp-in and --sdp-out go together.
 */
export function fixedKeyOption(values: Values, mikeyOptions: readonly string[]): SrtpKey | undefined {
  const file = values["srtp-key-file"];
  if (given(values["sdp-in"]) !== given(values["sdp-out"])) throw new UsageError("--sdp-in and --sdp-out go together");
  if (typeof file !== "string") {
    const needs = ["srtp-profile", "sdp-out"].filter((o) => given(values[o]));
    if (needs.length > 0) throw new UsageError(`--${needs[0]} needs --srtp-key-file`);
    return undefined;
  }
  const clash = mikeyOptions.filter((o) => given(values[o]));
  if (clash.length > 0) throw new UsageError(`--srtp-key-file (one fixed key, no MIKEY) conflicts with ${clash.map((o) => `--${o}`).join(", ")}`);
  const profile = values["srtp-profile"];
  return readSrtpKeyFile(file, typeof profile === "string" ? sdesProfile(profile, "--srtp-profile") : undefined);
}
