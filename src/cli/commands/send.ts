/**
 * `mbms-srtp send`: the BM-SC with an SRTP sender (../bmsc.ts) keyed by the session manager's TEKs of a
 * service (its SRTP profile from the config or --profile), or with one fixed SRTP key (--srtp-key-file).
 */
import { BMSC_CONFIG_KEYS, BMSC_OPTIONS, CONFIG_HELP, CORS_USAGE, LEASE_USAGE, STORE_USAGE, bmscConfig, runBmscCommand, type BmscValues } from "../bmsc-command.js";
import { fixedKeyOption } from "../fixed-key-options.js";
import { writeProtectedSdp } from "../sdp.js";
import { hostPortOption, ioOption, numberOption } from "../option-values.js";
import { DERIVATION_USAGE, PROFILE_USAGE } from "../profile-option.js";
import { SIGNALS_HELP } from "../signals.js";
import { UsageError } from "../usage-error.js";
import type { CommandIo } from "../command.js";

export const usage = `Usage: mbms-srtp send --dest HOST:PORT --config FILE.json [options]
       mbms-srtp send --dest HOST:PORT --rtp-in HOST:PORT --srtp-key-file FILE [--sdp-in FILE --sdp-out FILE] [options]

The BM-SC as one process: session manager + HTTP key server + SRTP sender of a synthetic RTP source
(packet n carries n), keyed from the manager's TEKs (TEK_RAND2 changes every period). Its SSRC is random,
registered for the service in the store (held while it sends and, after a crash, while a TEK it used may
be in force), and its first sequence number random: senders sharing a TEK never share a keystream (RFC 3711
§9.1); receivers learn the SSRC. Several send processes on one --store postgres://… share the service's
schedule (--schedule-lease): one rotates TEK_RAND2, all send under the TEK the store holds.
Prints "key server http://HOST:PORT" first. HOST may be a multicast group (224.0.0.0/4).
With --srtp-key-file: no MIKEY, no session manager and no key server (so no --config, --service, --store,
--schedule-lease, --key-port, --key-host, --profile, --cors-origin); every packet is protected with that one master key and no MKI, as
ffmpeg's SRTP (SDES, RFC 4568) expects. Prints "sending to HOST:PORT (…)" first. It needs --rtp-in: the
synthetic source has no store to register its SSRC in, so runs under one fixed key could repeat an SSRC and
sequence numbers, hence a keystream (RFC 3711 §9.1). Use a fresh key per session.

Options:
  --dest <host:port>       destination (e.g. 239.1.2.3:5004 or 127.0.0.1:5004)
  --config <file>          services and users
  --service <id>           service to send (default: the config's first)
${PROFILE_USAGE}; sets every service's
${DERIVATION_USAGE}
  --bitrate <bit/s>        target RTP bitrate (default 20M)
  --packet-size <bytes>    RTP payload bytes (default 1200)
  --duration <seconds>     how long to send (default: until Ctrl-C)
  --key-port <port>        key server port (default 0: any free port)
  --key-host <addr>        key server address (default 127.0.0.1)
${STORE_USAGE}
${LEASE_USAGE}
${CORS_USAGE}
  --multicast-ttl <n>      multicast TTL (default 1)
  --multicast-interface <addr>  outgoing interface address (default 127.0.0.1)
  --rtp-in <host:port>     instead of the synthetic source, read RTP datagrams from this UDP address (e.g.
                           ffmpeg -f rtp rtp://HOST:PORT) and protect + send each as it arrives (SSRC and
                           sequence numbers kept; --bitrate and --packet-size do not apply); the input's SSRC
                           is not registered, so the sender starts a fresh TEK_RAND2 period: with
                           --schedule-lease, only on the instance owning the schedule (else ERR_NOT_OWNER)
  --idle-timeout <ms>      with --rtp-in: stop once the input has been silent this long (default 2000)
  --plain                  send RTP unprotected: a baseline for benchmarks only (receivers need --plain too)
  --crypto-workers <n>     protect the packets in n worker threads (1..64; default 0: in the I/O thread): the
                           I/O thread paces, keys and sends, the workers run SRTP; key switches apply between
                           batches. Synthetic source and MIKEY keying only (not with --rtp-in, --plain,
                           --srtp-key-file)
  --io <native|dgram>      socket I/O: native (sendmmsg + UDP GSO, the addon built at install; the default when
                           it loaded) or dgram (node:dgram, one send per datagram); env MBMS_SRTP_UDP=dgram
                           makes dgram the default
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

Exit status: 0 if the sender's keys followed the schedule (switches on time, nothing withheld), 1 otherwise,
2 on a usage error. ${SIGNALS_HELP}

${CONFIG_HELP}`;

export const options = BMSC_OPTIONS;
export const configKeys = BMSC_CONFIG_KEYS;

export async function run(values: BmscValues, io: CommandIo): Promise<number> {
  const srtpKey = fixedKeyOption(values, ["config", "users", "store", "schedule-lease", "service", "key-port", "key-host", "plain", "profile", "cors-origin", "crypto-workers"]);
  if (srtpKey && values["rtp-in"] === undefined) {
    srtpKey.key.fill(0);
    srtpKey.salt.fill(0);
    throw new UsageError("--srtp-key-file needs --rtp-in: the synthetic source's SSRC is registered only with a key store, so runs under one fixed key could repeat a keystream");
  }
  const config = bmscConfig(values);
  if (!config && !srtpKey) throw new UsageError("--config or --srtp-key-file is required");
  if (!values.dest) throw new UsageError("--dest is required");
  const cryptoWorkers = numberOption("crypto-workers", values["crypto-workers"], 0, 0, 64);
  if (!Number.isInteger(cryptoWorkers)) throw new UsageError("--crypto-workers must be an integer");
  if (cryptoWorkers > 0 && (values.plain || values["rtp-in"] !== undefined)) throw new UsageError("--crypto-workers protects the synthetic source's SRTP: not with --plain or --rtp-in");
  const send = {
    ...hostPortOption("dest", values.dest),
    serviceId: values.service ?? config?.services[0]!.serviceId, srtpKey,
    bitrate: numberOption("bitrate", values.bitrate, 20e6, 1e3, 10e9),
    payloadSize: Math.floor(numberOption("packet-size", values["packet-size"], 1200, 8, 1400)),
    multicastTtl: Math.floor(numberOption("multicast-ttl", values["multicast-ttl"], 1, 0, 255)),
    multicastInterface: values["multicast-interface"] ?? "127.0.0.1",
    rtpIn: values["rtp-in"] === undefined ? undefined : hostPortOption("rtp-in", values["rtp-in"]),
    idleTimeoutMs: Math.floor(numberOption("idle-timeout", values["idle-timeout"], 2000, 10, 86_400_000)),
    plain: values.plain,
    cryptoWorkers,
    io: ioOption(values.io),
  };
  if (srtpKey && values["sdp-out"] !== undefined) writeProtectedSdp(values["sdp-in"]!, values["sdp-out"], send, srtpKey, send.multicastTtl);
  const keyPort = Math.floor(numberOption("port", values["key-port"], 0, 0, 65535));
  return runBmscCommand({ config, keyPort, keyHost: values["key-host"] ?? "127.0.0.1", send }, values, io);
}
