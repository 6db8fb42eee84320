#!/usr/bin/env node
/**
 * The `mbms-srtp` command line. Subcommands: demo (implemented); send, receive and keyserver (not yet).
 */
import { parseArgs } from "node:util";
import { runDemo, summary } from "./demo.js";

const USAGE = `Usage: mbms-srtp <command> [options]

Commands:
  demo        BM-SC, sender and two receivers (ME and UICC) in one process on 127.0.0.1
  send        (not implemented yet)
  receive     (not implemented yet)
  keyserver   (not implemented yet)

Run "mbms-srtp <command> --help" for a command's options.`;

const DEMO_USAGE = `Usage: mbms-srtp demo [options]

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
  --json                   print one JSON object at the end instead of status lines
  -h, --help               this help

Exit status: 0 if both receivers decrypted every packet sent with no authentication failure, 1 otherwise,
2 on a usage error. Ctrl-C stops early and prints the summary.`;

const NOT_YET = (cmd: string) => `Usage: mbms-srtp ${cmd} [options]\n\nNot implemented yet: see "mbms-srtp demo --help".`;

class UsageError extends Error {}

function number(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(value.trim());
  if (!m) throw new UsageError(`--${name}: not a number: ${value}`);
  const mult = { "": 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  const n = Number(m[1]) * mult;
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be ${min}..${max}`);
  return n;
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: {
      bitrate: { type: "string" }, "packet-size": { type: "string" }, duration: { type: "string" },
      "tek-period": { type: "string" }, "tgk-lifetime": { type: "string" },
      json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const options = {
    bitrate: number("bitrate", values.bitrate, 20e6, 1e3, 10e9),
    payloadSize: Math.floor(number("packet-size", values["packet-size"], 1200, 8, 1400)),
    durationS: number("duration", values.duration, 10, 0.1, 86_400),
    tekPeriodMs: Math.floor(number("tek-period", values["tek-period"], 1000, 100, 3_600_000)),
    tgkLifetimeMs: Math.floor(number("tgk-lifetime", values["tgk-lifetime"], 4000, 1000, 86_400_000)),
  };
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  try {
    const result = await runDemo({ ...options, quiet: values.json, out: process.stdout, signal: abort.signal });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(summary(result));
    return result.ok ? 0 : 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "demo":
        return await demo(rest);
      case "send":
      case "receive":
      case "keyserver":
        if (rest.includes("--help") || rest.includes("-h")) {
          console.log(NOT_YET(cmd));
          return 0;
        }
        console.error(NOT_YET(cmd));
        return 2;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        console.error(`mbms-srtp: unknown command "${cmd}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`mbms-srtp ${cmd}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`mbms-srtp: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
