/** `mbms-srtp demo`: the options of runDemo (../demo.ts), its summary or JSON, its exit status. */
import { runDemo, summary } from "../demo.js";
import { numberOption } from "../option-values.js";
import { DERIVATION_USAGE, PROFILE_USAGE, derivationOption, profileOption } from "../profile-option.js";
import { SIGNALS_HELP } from "../signals.js";
import type { CommandIo, OptionValues } from "../command.js";

export const usage = `Usage: mbms-srtp demo [options]

Runs an in-memory BM-SC (two users, HTTP key server on 127.0.0.1), an SRTP sender with a synthetic RTP
source and two receivers — one ME-based, one UICC-based with its card in a worker thread — over UDP on
127.0.0.1. Each receiver keys itself over HTTP (MIKEY) and decrypts through an MKI evaluator; TEK_RAND2
changes every --tek-period and the TGK expires every --tgk-lifetime, so receivers switch keys and re-key.

Options:
  --bitrate <bit/s>        target RTP bitrate (default 20000000; suffixes k, M allowed: 20M)
  --packet-size <bytes>    RTP payload bytes (default 1200, 8..1400)
  --duration <seconds>     how long to stream (default 10)
  --tek-period <ms>        TEK_RAND2 period (default 1000)
  --tgk-lifetime <ms>      TGK lifetime (default 4000)
${PROFILE_USAGE}
${DERIVATION_USAGE}
  --config <file>          options from a JSON file: {"bitrate": "50M", "duration": 30} (flags win)
  --json                   print one JSON object at the end instead of status lines
  -h, --help               this help

Exit status: 0 if both receivers decrypted every packet sent with no authentication failure, 1 otherwise,
2 on a usage error. ${SIGNALS_HELP}`;

export const options = {
  config: { type: "string" }, bitrate: { type: "string" }, "packet-size": { type: "string" }, duration: { type: "string" },
  "tek-period": { type: "string" }, "tgk-lifetime": { type: "string" }, profile: { type: "string" }, derivation: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

export async function run(values: OptionValues<typeof options>, io: CommandIo): Promise<number> {
  const result = await runDemo({
    bitrate: numberOption("bitrate", values.bitrate, 20e6, 1e3, 10e9),
    payloadSize: Math.floor(numberOption("packet-size", values["packet-size"], 1200, 8, 1400)),
    durationS: numberOption("duration", values.duration, 10, 0.1, 86_400),
    tekPeriodMs: Math.floor(numberOption("tek-period", values["tek-period"], 1000, 100, 3_600_000)),
    tgkLifetimeMs: Math.floor(numberOption("tgk-lifetime", values["tgk-lifetime"], 4000, 1000, 86_400_000)),
    profile: profileOption(values.profile),
    derivation: derivationOption(values.derivation),
    quiet: values.json, out: io.out, signal: io.signal,
  });
  io.out.write((values.json ? JSON.stringify(result, null, 2) : summary(result)) + "\n");
  return result.ok ? 0 : 1;
}
