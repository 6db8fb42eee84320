/** `mbms-srtp relay`: the browser relay (../relay.ts): SRTP datagrams from UDP to web pages over WebSocket, keyless. */
import { existsSync } from "node:fs";
import { isMulticast } from "../address.js";
import { packageWeb, relaySummary, runRelay } from "../relay.js";
import { durationOption, hostPortOption, numberOption, originsOption } from "../option-values.js";
import { SIGNALS_HELP } from "../signals.js";
import { UsageError } from "../usage-error.js";
import type { CommandIo, OptionValues } from "../command.js";

export const usage = `Usage: mbms-srtp relay --listen HOST:PORT [--group ADDR] [--http HOST:PORT] [--web --key-server URL --service ID] [options]

Browsers cannot join UDP multicast: the relay forwards each SRTP datagram it receives, byte for byte, as one
binary WebSocket message to every page connected at ws://HOST:PORT/ws. It holds no key: a page keys itself
from the key server (which must allow the page's origin: keyserver/send --cors-origin) and decrypts in WASM.
Prints "relay: udp … -> ws://…/ws" first, then a status line a second.

A client that does not keep up gets no datagram while it has --max-buffer bytes queued (counted as drops), and
is closed (1013) after 5 s of only drops; other clients are never held back. An upgrade with an Origin header
not allowed is refused (403), one over --max-clients too (503); one without Origin (not a browser) is accepted.

Options:
  --config <file>          options from a JSON file, keys = long option names, flags win
  --listen <host:port>     UDP address to receive on (e.g. 127.0.0.1:5004); with --group, PORT and the interface
  --group <addr>           multicast group to join (binds the group's address, port shared with SO_REUSEADDR)
  --interface <addr>       interface address for the membership (default: the --listen HOST)
  --http <host:port>       where pages connect (default 127.0.0.1 and any free port)
  --origin <url>           an origin allowed to open the WebSocket, e.g. https://tv.example; repeatable or
                           comma-separated (default: the relay's own http://HOST:PORT, and localhost:PORT on 127.0.0.1)
  --max-clients <n>        WebSocket clients at once (default 64)
  --max-buffer <bytes>     bytes queued per client before its datagrams are dropped (default 4194304 = 4 MiB)
  --web                    serve the package's web page (web/ at /, dist/ at /dist/, and /config.json)
  --key-server <url>       with --web: the key server the page keys itself from (in config.json and the CSP)
  --service <id>           with --web: the service id the page asks keys for (in config.json)
  --duration <seconds>     how long to relay (default: until Ctrl-C)
  --json                   print the summary as one JSON line (packetsIn, packetsOut, drops, closedSlow, …)
  -h, --help               this help

Exit status: 0 at the end of the run, 2 on a usage error. ${SIGNALS_HELP}`;

export const options = {
  config: { type: "string" }, listen: { type: "string" }, group: { type: "string" }, interface: { type: "string" },
  http: { type: "string" }, origin: { type: "string", multiple: true }, "max-clients": { type: "string" },
  "max-buffer": { type: "string" }, web: { type: "boolean", default: false }, "key-server": { type: "string" },
  service: { type: "string" }, duration: { type: "string" }, json: { type: "boolean", default: false },
} as const;

type Values = OptionValues<typeof options>;

function ipv4Option(name: string, v: string): string {
  if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(v) || v.split(".").some((x) => Number(x) > 255)) throw new UsageError(`--${name}: expected an IPv4 address, got ${v}`);
  return v;
}

export async function run(values: Values, io: CommandIo): Promise<number> {
  if (values.listen === undefined) throw new UsageError("--listen HOST:PORT is required");
  const listen = hostPortOption("listen", values.listen);
  const group = values.group === undefined ? undefined : ipv4Option("group", values.group);
  if (group !== undefined && !isMulticast(group)) throw new UsageError(`--group: ${group} is not a multicast address`);
  if (values.interface !== undefined && group === undefined) throw new UsageError("--interface needs --group");
  const keyServer = values["key-server"];
  if (!values.web && (keyServer !== undefined || values.service !== undefined)) throw new UsageError("--key-server and --service go with --web (they are the page's config)");
  if (keyServer !== undefined && !/^https?:\/\/[^/]/.test(keyServer)) throw new UsageError("--key-server: expected an http(s) URL");
  const web = values.web ? packageWeb({ ...(keyServer !== undefined ? { keyServer } : {}), ...(values.service !== undefined ? { serviceId: values.service } : {}) }) : undefined;
  if (web && !existsSync(web.mounts[0]!.dir)) console.error(`mbms-srtp relay: no web page in ${web.mounts[0]!.dir} yet: / answers 404`);
  const result = await runRelay({
    udp: group === undefined ? listen : { port: listen.port, group, iface: values.interface === undefined ? listen.host : ipv4Option("interface", values.interface) },
    http: values.http === undefined ? undefined : hostPortOption("http", values.http),
    allowedOrigins: originsOption("origin", values.origin),
    maxClients: Math.floor(numberOption("max-clients", values["max-clients"], 64, 1, 100_000)),
    maxBufferedBytes: Math.floor(numberOption("max-buffer", values["max-buffer"], 4 << 20, 1024, 1 << 30)),
    web,
    durationS: durationOption(values.duration), json: values.json, out: io.out, signal: io.signal,
  });
  io.out.write((values.json ? JSON.stringify(result) : relaySummary(result)) + "\n");
  return 0;
}
