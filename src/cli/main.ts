#!/usr/bin/env node
/**
 * The `mbms-srtp` command line. Subcommands: demo, send (BM-SC: key server + sender), receive (one UE), keyserver.
 */
import { parseOptions } from "./options.js";
import { runDemo, summary } from "./demo.js";
import { ConfigError, bmscSummary, loadConfig, parseHexKek, runBmsc, type BmscOptions } from "./bmsc.js";
import { receiveSummary, runReceive } from "./receive.js";
import type { MikeyKeying } from "./receiver.js";
import { fixedKeyOption } from "./fixed-key-options.js";
import { writeProtectedSdp } from "./sdp.js";
import { UsageError } from "./usage-error.js";
import { isMulticast } from "./address.js";
import { runSoak, soakSummary } from "./soak.js";

const USAGE = `Usage: mbms-srtp <command> [options]

Commands:
  demo        BM-SC, sender and two receivers (ME and UICC) in one process on 127.0.0.1
  send        BM-SC in one process: key server + SRTP sender (synthetic source, or RTP from a UDP port) to a unicast or multicast address
  receive     one UE (ME or UICC): joins a group or listens on a port, keys itself, decrypts, reports
  keyserver   the BM-SC's key server (and session manager) alone, without sending
  soak        the key lifecycle over many periods (sender, ME and UICC receivers in one process), with checks

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
  --config <file>          options from a JSON file: {"bitrate": "50M", "duration": 30} (flags win)
  --json                   print one JSON object at the end instead of status lines
  -h, --help               this help

Exit status: 0 if both receivers decrypted every packet sent with no authentication failure, 1 otherwise,
2 on a usage error. Ctrl-C stops early and prints the summary.`;

const SOAK_USAGE = `Usage: mbms-srtp soak [options]

Runs a BM-SC, one sender per service and an ME and a UICC receiver per service in one process (key server
on 127.0.0.1, packets handed over in memory), prints a progress line every 10 s, then checks what the key
lifecycle promises: TEK switches on schedule, every packet decrypted, no packet under an expired TGK,
key slots and memory bounded, no unscheduled key request.

Options:
  --minutes <n>            how long (default 1; --seconds for short runs)
  --seconds <n>
  --tek-period <ms>        TEK_RAND2 period (default 1000)
  --tgk-lifetime <ms>      TGK lifetime (default 10000)
  --services <n>           services at once (default 1, at most 4)
  --rate <pkt/s>           real packets per second per service (default 2000)
  --forged <n>             forged packets injected per real packet (default 0)
  --json                   print the report as JSON
  -h, --help               this help

Exit status: 0 if every check passed, 1 otherwise, 2 on a usage error.`;

const CONFIG_HELP = `Config file (JSON; KEKs are 32 or 64 hex digits); any other key is an option's long name (flags win):
  { "services": [{ "serviceId": "urn:mbms:demo:1", "tekRand2PeriodMs": 1000, "tgkLifetimeMs": 4000 }],
    "users": [{ "userId": "sip:ue-me@demo.invalid", "kek": "000102…0f", "services": ["urn:mbms:demo:1"] }], "dest": "239.1.2.3:5004" }
A user's "services": what it gets keys for (absent: every service in the file). With --store, the store's
users are made those of the file at every start: changed KEKs take effect, unlisted users are disabled.`;

const KEYSERVER_USAGE = `Usage: mbms-srtp keyserver --config FILE.json [options]

Runs the BM-SC's session manager and HTTP key server for the config's services and users, until Ctrl-C.
Prints "key server http://HOST:PORT" first.

Options:
  --config <file>          services and users (alias: --users)
  --port <port>            key server port (default 0: any free port)
  --host <addr>            key server address (default 127.0.0.1)
  --store <file.sqlite>    persistent SQLite key store (default: in memory)
  --duration <seconds>     stop after this long (default: until Ctrl-C)
  --json                   print the summary as one JSON line
  -h, --help               this help

${CONFIG_HELP}`;

const SEND_USAGE = `Usage: mbms-srtp send --dest HOST:PORT --config FILE.json [options]
       mbms-srtp send --dest HOST:PORT --rtp-in HOST:PORT --srtp-key-file FILE [--sdp-in FILE --sdp-out FILE] [options]

The BM-SC as one process: session manager + HTTP key server + SRTP sender of a synthetic RTP source
(SSRC 0x6d626d73, packet n carries n), keyed from the manager's TEKs (TEK_RAND2 changes every period).
Prints "key server http://HOST:PORT" first. HOST may be a multicast group (224.0.0.0/4).
With --srtp-key-file: no MIKEY, no session manager and no key server (so no --config, --service, --store,
--key-port, --key-host); every packet is protected with that one master key and no MKI, as ffmpeg's SRTP
(SDES, RFC 4568) expects. Prints "sending to HOST:PORT (…)" first. It needs --rtp-in: the synthetic
source's SSRC and sequence numbers are the same on every run, so a fixed key would repeat its keystream
(RFC 3711 §9.1). Use a fresh key per session.

Options:
  --dest <host:port>       destination (e.g. 239.1.2.3:5004 or 127.0.0.1:5004)
  --config <file>          services and users
  --service <id>           service to send (default: the config's first)
  --bitrate <bit/s>        target RTP bitrate (default 20M)
  --packet-size <bytes>    RTP payload bytes (default 1200)
  --duration <seconds>     how long to send (default: until Ctrl-C)
  --key-port <port>        key server port (default 0: any free port)
  --key-host <addr>        key server address (default 127.0.0.1)
  --store <file.sqlite>    persistent SQLite key store (default: in memory)
  --multicast-ttl <n>      multicast TTL (default 1)
  --multicast-interface <addr>  outgoing interface address (default 127.0.0.1)
  --rtp-in <host:port>     instead of the synthetic source, read RTP datagrams from this UDP address (e.g.
                           ffmpeg -f rtp rtp://HOST:PORT) and protect + send each as it arrives (SSRC and
                           sequence numbers kept; --bitrate and --packet-size do not apply)
  --idle-timeout <ms>      with --rtp-in: stop once the input has been silent this long (default 2000)
  --plain                  send RTP unprotected: a baseline for benchmarks only (receivers need --plain too)
  --srtp-key-file <file>   one fixed master key: base64 of the 16-byte key ‖ 14-byte salt (what ffmpeg's
                           -srtp_out_params takes; e.g. head -c 30 /dev/urandom | base64), an inline: parameter,
                           an a=crypto: line, or an SDP with one a=crypto: line. A file, not an option value:
                           command lines are visible to every user (ps). Keys are never printed.
  --srtp-profile <name>    AES_CM_128_HMAC_SHA1_80 (default) or AES_CM_128_HMAC_SHA1_32; an a=crypto: line's
                           suite must agree
  --sdp-in <file>          the source's SDP (e.g. ffmpeg -sdp_file; one media section), with --sdp-out
  --sdp-out <file>         write the SDP of the protected stream for a player (ffmpeg -protocol_whitelist
                           file,udp,rtp,srtp -i FILE): --sdp-in with c= and m= set to --dest, RTP/SAVP and an
                           a=crypto: line. It holds the key: written with mode 0600
  --json                   print the summary as one JSON line (includes the process CPU time per packet)
  -h, --help               this help

${CONFIG_HELP}`;

const RECEIVE_USAGE = `Usage: mbms-srtp receive (--group ADDR:PORT | --port PORT) --key-server URL --user ID --kek HEX [options]
       mbms-srtp receive (--group ADDR:PORT | --port PORT) --srtp-key-file FILE [options]

One UE: joins the multicast group (port shared with SO_REUSEADDR) or listens on 127.0.0.1:PORT, keys itself
over HTTP (MIKEY), decrypts through an MKI evaluator and checks every packet. Counts from the first packet
it decrypted once keyed and caught up with its socket (what it decrypted while joining is "joinDelivered"):
"lost" is the gaps between the first and the last. With --srtp-key-file (SDES mode): no key
server, one fixed master key without MKI decrypts every SSRC (e.g. ffmpeg -srtp_out_suite … srtp://…);
RTCP on the port is dropped.

Options:
  --config <file>          options from a JSON file, keys = long option names, flags win; keeps the KEK off the
                           command line: {"key-server": "http://127.0.0.1:8443", "user": "…", "kek": "00…0f"}
  --group <addr:port>      multicast group to join
  --port <port>            unicast port on 127.0.0.1 (without --group)
  --interface <addr>       interface address for the membership (default 127.0.0.1)
  --key-server <url>       e.g. http://127.0.0.1:8080
  --user <id>              user ID known to the key server
  --kek <hex>              the user's KEK (32 or 64 hex digits)
  --mode <me|uicc>         KEK in the ME, or in a soft UICC in a worker thread (default me)
  --service <id>           service (default urn:mbms:demo:1)
  --tek-period <ms>        TEK_RAND2 period (default 1000)
  --packet-size <bytes>    RTP payload bytes (default 1200)
  --duration <seconds>     how long to receive (default: until Ctrl-C)
  --rtp-out <host:port>    forward each decrypted RTP packet (plain) to this UDP address (e.g. ffmpeg reading
                           an SDP); packets are then counted by RTP sequence number, not the synthetic payload
  --pcap-out <file>        write each decrypted RTP packet to a pcap file (mode 0600; IPv4/UDP headers as received;
                           tshark -r FILE -d udp.port==PORT,rtp); packets are then counted by RTP sequence number
  --plain                  expect unprotected RTP from "send --plain" (a benchmark baseline): no keying, no SRTP
  --srtp-key-file <file>   one fixed master key, as for send (instead of --key-server, --user, --kek, --mode,
                           --service, --tek-period)
  --srtp-profile <name>    AES_CM_128_HMAC_SHA1_80 (default) or AES_CM_128_HMAC_SHA1_32
  --json                   print the summary as one JSON line (delivered, lost, authFailed, switches, …)
  -h, --help               this help

Exit status: 0 if packets were decrypted with no gap and no authentication failure, 1 otherwise, 2 on a usage error.`;

function hostPort(name: string, v: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--${name}: expected IPv4:PORT, got ${v}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Runs `fn` with an AbortSignal fired by SIGINT or SIGTERM. */
async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const on = () => abort.abort();
  process.once("SIGINT", on);
  process.once("SIGTERM", on);
  try {
    return await fn(abort.signal);
  } finally {
    process.off("SIGINT", on);
    process.off("SIGTERM", on);
  }
}

async function bmsc(cmd: "send" | "keyserver", args: string[]): Promise<number> {
  const values = parseOptions({
    args,
    options: {
      config: { type: "string" }, users: { type: "string" }, store: { type: "string" }, duration: { type: "string" },
      port: { type: "string" }, host: { type: "string" }, "key-port": { type: "string" }, "key-host": { type: "string" },
      dest: { type: "string" }, service: { type: "string" }, bitrate: { type: "string" }, "packet-size": { type: "string" },
      "multicast-ttl": { type: "string" }, "multicast-interface": { type: "string" },
      "rtp-in": { type: "string" }, "idle-timeout": { type: "string" }, plain: { type: "boolean", default: false },
      "srtp-key-file": { type: "string" }, "srtp-profile": { type: "string" }, "sdp-in": { type: "string" }, "sdp-out": { type: "string" },
      json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  }, ["services", "users"]);
  if (values.help) {
    console.log(cmd === "send" ? SEND_USAGE : KEYSERVER_USAGE);
    return 0;
  }
  const srtpKey = cmd === "send" ? fixedKeyOption(values, ["config", "users", "store", "service", "key-port", "key-host", "plain"]) : undefined;
  if (srtpKey && values["rtp-in"] === undefined) {
    srtpKey.key.fill(0);
    srtpKey.salt.fill(0);
    throw new UsageError("--srtp-key-file needs --rtp-in: the synthetic source's SSRC and sequence numbers repeat on every run, so one fixed key would repeat its keystream");
  }
  const configPath = values.config ?? values.users;
  if (!configPath && !srtpKey) throw new UsageError(cmd === "send" ? "--config or --srtp-key-file is required" : "--config is required");
  const config = configPath === undefined ? undefined : loadConfig(configPath);
  let send: BmscOptions["send"];
  if (cmd === "send") {
    if (!values.dest) throw new UsageError("--dest is required");
    send = {
      ...hostPort("dest", values.dest),
      serviceId: values.service ?? config?.services[0]!.serviceId, srtpKey,
      bitrate: number("bitrate", values.bitrate, 20e6, 1e3, 10e9),
      payloadSize: Math.floor(number("packet-size", values["packet-size"], 1200, 8, 1400)),
      multicastTtl: Math.floor(number("multicast-ttl", values["multicast-ttl"], 1, 0, 255)),
      multicastInterface: values["multicast-interface"] ?? "127.0.0.1",
      rtpIn: values["rtp-in"] === undefined ? undefined : hostPort("rtp-in", values["rtp-in"]),
      idleTimeoutMs: Math.floor(number("idle-timeout", values["idle-timeout"], 2000, 10, 86_400_000)),
      plain: values.plain,
    };
    if (srtpKey && values["sdp-out"] !== undefined) writeProtectedSdp(values["sdp-in"]!, values["sdp-out"], send, srtpKey, send.multicastTtl);
  }
  const keyPort = cmd === "send" ? values["key-port"] : (values.port ?? values["key-port"]);
  const keyHost = (cmd === "send" ? values["key-host"] : (values.host ?? values["key-host"])) ?? "127.0.0.1";
  const result = await withSignals((signal) => runBmsc({
    config, storePath: values.store, keyPort: Math.floor(number("port", keyPort, 0, 0, 65535)), keyHost, send,
    durationS: values.duration === undefined ? Infinity : number("duration", values.duration, 0, 0.1, 86_400 * 365),
    json: values.json, out: process.stdout, signal,
  }));
  console.log(values.json ? JSON.stringify(result) : bmscSummary(result));
  return result.ok ? 0 : 1;
}

async function receive(args: string[]): Promise<number> {
  const values = parseOptions({
    args,
    options: {
      config: { type: "string" }, group: { type: "string" }, port: { type: "string" }, interface: { type: "string" }, "key-server": { type: "string" },
      user: { type: "string" }, kek: { type: "string" }, mode: { type: "string" }, service: { type: "string" },
      "tek-period": { type: "string" }, "packet-size": { type: "string" }, duration: { type: "string" },
      "rtp-out": { type: "string" }, "pcap-out": { type: "string" }, plain: { type: "boolean", default: false },
      "srtp-key-file": { type: "string" }, "srtp-profile": { type: "string" },
      json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(RECEIVE_USAGE);
    return 0;
  }
  let group: string | undefined;
  let port: number;
  if (values.group !== undefined) {
    const g = hostPort("group", values.group);
    if (!isMulticast(g.host)) throw new UsageError(`--group: ${g.host} is not a multicast address`);
    group = g.host;
    port = g.port;
  } else if (values.port !== undefined) port = Math.floor(number("port", values.port, 0, 1, 65535));
  else throw new UsageError("--group or --port is required");
  const srtpKey = fixedKeyOption(values, ["key-server", "user", "kek", "mode", "service", "tek-period", "plain"]);
  const keying = srtpKey ? { mode: "SDES" as const, srtpKey } : mikeyKeying(values);
  const result = await withSignals((signal) => runReceive({
    group, port, iface: values.interface ?? "127.0.0.1", keying,
    payloadSize: Math.floor(number("packet-size", values["packet-size"], 1200, 8, 1400)),
    durationS: values.duration === undefined ? Infinity : number("duration", values.duration, 0, 0.1, 86_400 * 365),
    rtpOut: values["rtp-out"] === undefined ? undefined : hostPort("rtp-out", values["rtp-out"]), pcapOut: values["pcap-out"],
    plain: values.plain, json: values.json, out: process.stdout, signal,
  }));
  console.log(values.json ? JSON.stringify(result) : receiveSummary(result));
  return result.ok ? 0 : 1;
}

/** The MIKEY options of `receive`: key server, user, KEK, mode (ME or UICC), service, TEK period. */
function mikeyKeying(values: { "key-server"?: string; user?: string; kek?: string; mode?: string; service?: string; "tek-period"?: string }): MikeyKeying {
  const keyServer = values["key-server"];
  if (!keyServer || !/^https?:\/\//.test(keyServer)) throw new UsageError("--key-server URL is required");
  if (!values.user) throw new UsageError("--user is required");
  let kek: Uint8Array;
  try {
    kek = parseHexKek(values.kek, "--kek");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const mode = (values.mode ?? "me").toLowerCase();
  if (mode !== "me" && mode !== "uicc") throw new UsageError("--mode must be me or uicc");
  return {
    mode: mode === "uicc" ? "UICC" : "ME", userId: values.user, kek, baseUrl: keyServer.replace(/\/+$/, ""),
    serviceId: values.service ?? "urn:mbms:demo:1",
    rotationPeriodMs: Math.floor(number("tek-period", values["tek-period"], 1000, 100, 3_600_000)),
  };
}

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
  const values = parseOptions({
    args,
    options: {
      config: { type: "string" }, bitrate: { type: "string" }, "packet-size": { type: "string" }, duration: { type: "string" },
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

async function soak(args: string[]): Promise<number> {
  const values = parseOptions({
    args,
    options: {
      config: { type: "string" }, minutes: { type: "string" }, seconds: { type: "string" }, "tek-period": { type: "string" }, "tgk-lifetime": { type: "string" },
      services: { type: "string" }, rate: { type: "string" }, forged: { type: "string" },
      json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(SOAK_USAGE);
    return 0;
  }
  const seconds = values.seconds !== undefined ? number("seconds", values.seconds, 60, 1, 86_400) : 60 * number("minutes", values.minutes, 1, 0.05, 1440);
  const report = await withSignals((signal) => runSoak({
    signal,
    durationMs: seconds * 1000,
    tekPeriodMs: Math.floor(number("tek-period", values["tek-period"], 1000, 5, 3_600_000)),
    tgkLifetimeMs: Math.floor(number("tgk-lifetime", values["tgk-lifetime"], 10_000, 50, 86_400_000)),
    services: Math.floor(number("services", values.services, 1, 1, 4)),
    packetsPerSecond: number("rate", values.rate, 2000, 1, 100_000),
    forgedPerPacket: Math.floor(number("forged", values.forged, 0, 0, 100)),
    ...(values.json ? {} : { progress: (line: string) => console.log(line) }),
  }));
  console.log(values.json ? JSON.stringify(report, null, 2) : soakSummary(report));
  return report.ok ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "demo":
        return await demo(rest);
      case "send":
      case "keyserver":
        return await bmsc(cmd, rest);
      case "receive":
        return await receive(rest);
      case "soak":
        return await soak(rest);
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
    if (e instanceof UsageError || e instanceof ConfigError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
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
