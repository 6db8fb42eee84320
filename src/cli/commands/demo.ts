/** `mbms-srtp demo`: the options of runDemo (../demo.ts), its summary or JSON, its exit status. */
import { runDemo, summary } from "../demo.js";
import { browserDemoSummary, runBrowserDemo } from "../browser-demo.js";
import { hostPortOption, numberOption } from "../option-values.js";
import { DERIVATION_USAGE, PROFILE_USAGE, derivationOption, profileOption } from "../profile-option.js";
import { SIGNALS_HELP } from "../signals.js";
import type { CommandIo, OptionValues } from "../command.js";

export const usage = `Usage: mbms-srtp demo [options]

Runs an in-memory BM-SC (two users, HTTP key server on 127.0.0.1), an SRTP sender with a synthetic RTP
source and two receivers — one ME-based, one UICC-based with its card in a worker thread — over UDP on
127.0.0.1. Each receiver keys itself over HTTP (MIKEY) and decrypts through an MKI evaluator; TEK_RAND2
changes every --tek-period and the TGK expires every --tgk-lifetime, so receivers switch keys and re-key.

With --browser: the stream to watch in a web page instead. The BM-SC (key server with CORS for the page)
sends ffmpeg's testsrc2 1280x720 H.264 (the synthetic source without ffmpeg or with --synthetic) to the
relay (mbms-srtp relay --web), which forwards the SRTP packets unchanged to the page; the page keys itself
and decrypts in WebAssembly. It prints one URL per demo user (ME, UICC): the URL's fragment holds that
throwaway user's KEK. Runs until Ctrl-C unless --duration is given.

Options:
  --browser                the browser demo (above)
  --http <host:port>       with --browser: where the page is served (default 127.0.0.1:0, a free port)
  --synthetic              with --browser: the synthetic source even when ffmpeg is installed
  --video <file>           with --browser: ffmpeg replays this H.264 file in real time, looped and not
                           re-encoded (at the file's own bitrate), instead of encoding testsrc2 live
  --bitrate <bit/s>        target RTP bitrate (default 20000000, 8M with --browser; suffixes k, M allowed: 20M)
  --packet-size <bytes>    RTP payload bytes (default 1200, 8..1400)
  --duration <seconds>     how long to stream (default 10)
  --tek-period <ms>        TEK_RAND2 period (default 1000)
  --tgk-lifetime <ms>      TGK lifetime (default 4000)
${PROFILE_USAGE}
${DERIVATION_USAGE}
  --config <file>          options from a JSON file: {"bitrate": "50M", "duration": 30} (flags win)
  --json                   print one JSON object at the end instead of status lines
  -h, --help               this help

Exit status: 0 if both receivers decrypted every packet sent with no authentication failure (--browser:
the sender switched TEK on schedule and the relay forwarded every packet), 1 otherwise, 2 on a usage error. ${SIGNALS_HELP}`;

export const options = {
  config: { type: "string" }, bitrate: { type: "string" }, "packet-size": { type: "string" }, duration: { type: "string" },
  "tek-period": { type: "string" }, "tgk-lifetime": { type: "string" }, profile: { type: "string" }, derivation: { type: "string" },
  json: { type: "boolean", default: false },
  browser: { type: "boolean", default: false }, http: { type: "string" }, synthetic: { type: "boolean", default: false }, video: { type: "string" },
} as const;

export async function run(values: OptionValues<typeof options>, io: CommandIo): Promise<number> {
  const common = {
    bitrate: numberOption("bitrate", values.bitrate, values.browser ? 8e6 : 20e6, 1e3, 10e9),
    durationS: numberOption("duration", values.duration, values.browser ? Infinity : 10, 0.1, 86_400),
    tekPeriodMs: Math.floor(numberOption("tek-period", values["tek-period"], 1000, 100, 3_600_000)),
    tgkLifetimeMs: Math.floor(numberOption("tgk-lifetime", values["tgk-lifetime"], 4000, 1000, 86_400_000)),
    profile: profileOption(values.profile),
    derivation: derivationOption(values.derivation),
    out: io.out, signal: io.signal,
  };
  if (values.browser) {
    const http = values.http === undefined ? { host: "127.0.0.1", port: 0 } : hostPortOption("http", values.http);
    const result = await runBrowserDemo({ ...common, http, synthetic: values.synthetic, json: values.json, ...(values.video ? { video: values.video } : {}) });
    io.out.write((values.json ? JSON.stringify(result) : browserDemoSummary(result)) + "\n");
    return result.ok ? 0 : 1;
  }
  const result = await runDemo({
    ...common, payloadSize: Math.floor(numberOption("packet-size", values["packet-size"], 1200, 8, 1400)), quiet: values.json,
  });
  io.out.write((values.json ? JSON.stringify(result, null, 2) : summary(result)) + "\n");
  return result.ok ? 0 : 1;
}
