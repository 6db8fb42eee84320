/**
 * `mbms-srtp receive`: one UE (../receive.ts) keyed with MIKEY (ME or UICC mode), one fixed SRTP key (SDES
 * mode, --srtp-key-file) or not at all (--plain); its summary or JSON, its exit status.
 */
import { receiveSummary, runReceive } from "../receive.js";
import type { MikeyKeying, PlainKeying } from "../udp-mbms-receiver.js";
import { parseHexKek } from "../bmsc.js";
import { fixedKeyOption } from "../fixed-key-options.js";
import { isMulticast } from "../address.js";
import { durationOption, hostPortOption, ioOption, numberOption } from "../option-values.js";
import { SIGNALS_HELP } from "../signals.js";
import { UsageError } from "../usage-error.js";
import type { CommandIo, OptionValues } from "../command.js";

export const usage = `Usage: mbms-srtp receive (--group ADDR:PORT | --port PORT) --key-server URL --user ID --kek HEX [options]
       mbms-srtp receive (--group ADDR:PORT | --port PORT) --srtp-key-file FILE [options]
       mbms-srtp receive (--group ADDR:PORT | --port PORT) --plain [options]

One UE: joins the multicast group (port shared with SO_REUSEADDR) or listens on 127.0.0.1:PORT, keys itself
over HTTP (MIKEY), decrypts through an MKI evaluator and checks every packet. Counts from the first packet
it decrypted once keyed and caught up with its socket (what it decrypted while joining is "joinDelivered"):
"lost" is the gaps between the first and the last. Each sender's SSRC (random) is learned from its first
authenticated packet, a stream of its own (at most 16; forged packets create none). With --srtp-key-file
(SDES mode): no key server, one fixed master key without MKI decrypts every SSRC (e.g. ffmpeg -srtp_out_suite … srtp://…);
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
  --plain                  expect unprotected RTP from "send --plain" (a benchmark baseline): no keying, no SRTP,
                           so none of the keying options (--key-server, --user, --kek, --mode, --service,
                           --tek-period, --srtp-key-file, --srtp-profile)
  --srtp-key-file <file>   one fixed master key, as for send (instead of --key-server, --user, --kek, --mode,
                           --service, --tek-period)
  --srtp-profile <name>    AES_CM_128_HMAC_SHA1_80 (default) or AES_CM_128_HMAC_SHA1_32
  --io <native|dgram>      socket I/O: native (recvmmsg, the addon built at install; the default when it loaded)
                           or dgram (node:dgram, one Buffer per datagram); env MBMS_SRTP_UDP=dgram makes dgram
                           the default
  --json                   print the summary as one JSON line (delivered, lost, authFailed, switches, …)
  -h, --help               this help

Exit status: 0 if packets were decrypted with no gap and no authentication failure, 1 otherwise, 2 on a usage error.
${SIGNALS_HELP}`;

export const options = {
  config: { type: "string" }, group: { type: "string" }, port: { type: "string" }, interface: { type: "string" }, "key-server": { type: "string" },
  user: { type: "string" }, kek: { type: "string" }, mode: { type: "string" }, service: { type: "string" },
  "tek-period": { type: "string" }, "packet-size": { type: "string" }, duration: { type: "string" },
  "rtp-out": { type: "string" }, "pcap-out": { type: "string" }, plain: { type: "boolean", default: false },
  "srtp-key-file": { type: "string" }, "srtp-profile": { type: "string" }, io: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

type Values = OptionValues<typeof options>;

/** The options of MIKEY keying, which --srtp-key-file and --plain do not use. */
const MIKEY_OPTIONS = ["key-server", "user", "kek", "mode", "service", "tek-period"] as const;

export async function run(values: Values, io: CommandIo): Promise<number> {
  const listen = listenOption(values);
  const srtpKey = fixedKeyOption(values, [...MIKEY_OPTIONS, "plain"]);
  const keying = srtpKey ? { mode: "SDES" as const, srtpKey } : values.plain ? plainKeying(values) : mikeyKeying(values);
  const result = await runReceive({
    ...listen, iface: values.interface ?? "127.0.0.1", keying,
    payloadSize: Math.floor(numberOption("packet-size", values["packet-size"], 1200, 8, 1400)),
    durationS: durationOption(values.duration),
    rtpOut: values["rtp-out"] === undefined ? undefined : hostPortOption("rtp-out", values["rtp-out"]), pcapOut: values["pcap-out"],
    io: ioOption(values.io), json: values.json, out: io.out, signal: io.signal,
  });
  io.out.write((values.json ? JSON.stringify(result) : receiveSummary(result)) + "\n");
  return result.ok ? 0 : 1;
}

/** --group (a multicast group and port) or --port (unicast on 127.0.0.1). */
function listenOption(values: Values): { group?: string; port: number } {
  if (values.group !== undefined) {
    const g = hostPortOption("group", values.group);
    if (!isMulticast(g.host)) throw new UsageError(`--group: ${g.host} is not a multicast address`);
    return { group: g.host, port: g.port };
  }
  if (values.port !== undefined) return { port: Math.floor(numberOption("port", values.port, 0, 1, 65535)) };
  throw new UsageError("--group or --port is required");
}

/** --plain: unprotected RTP, so a keying option given is a mistake, not something to ignore. */
function plainKeying(values: Values): PlainKeying {
  const unused = MIKEY_OPTIONS.filter((o) => values[o] !== undefined);
  if (unused.length > 0) throw new UsageError(`--plain (unprotected RTP, no keying) does not use ${unused.map((o) => `--${o}`).join(", ")}`);
  return { mode: "PLAIN" };
}

/** The MIKEY options: key server, user, KEK, mode (ME or UICC), service, TEK period. */
function mikeyKeying(values: Values): MikeyKeying {
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
    rotationPeriodMs: Math.floor(numberOption("tek-period", values["tek-period"], 1000, 100, 3_600_000)),
  };
}
