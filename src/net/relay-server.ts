/**
 * The browser relay (issue 12): browsers cannot join UDP multicast, so this forwards each SRTP datagram,
 * unchanged, as one binary WebSocket message to every page connected at `ws://HOST:PORT/ws`. It holds no
 * key and decrypts nothing: the page keys itself from the key server (fetch, CORS) and decrypts in WASM.
 *
 * Parts: a UDP socket (udp-receiver.ts: unicast, or a multicast group joined), an `http.Server` of its own
 * with a `ws` WebSocketServer in noServer mode, the fan-out with bounded per-client buffers (fanout.ts),
 * and optionally the page's files and config (static-files.ts).
 *
 * Upgrades are checked before ws sees them: a path other than /ws → 404; an Origin header not in
 * `allowedOrigins` → 403 (RFC 6455 §10.2: the origin is what stops any web page from opening the stream;
 * a request without Origin comes from a non-browser client, which could send any Origin, and is accepted);
 * `maxClients` connected → 503. A refusal is written on the raw socket, which is destroyed once it is out
 * (or a second later). ws answers a malformed upgrade (bad key or version) with 400 itself.
 * HTTP: headers ≤ 8 KiB (431 above), headers within 5 s and the request within 10 s (408), other parse
 * errors 400; pages send nothing on the WebSocket, so a message over 1 KiB closes it (1009).
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import type dgram from "node:dgram";
import { WebSocketServer } from "ws";
import { parseOrigin } from "../origin.js";
import { NetError } from "./errors.js";
import { Fanout, type ClientStats } from "./fanout.js";
import { contentSecurityPolicy, webHandler, type WebOptions } from "./static-files.js";
import { bindUdpReceiver, type UdpListen } from "./udp-receiver.js";

export interface RelayOptions {
  /** The SRTP input: unicast host:port (default 127.0.0.1), or a multicast group joined on `iface`. */
  udp: UdpListen;
  /** Where pages connect (default 127.0.0.1, port 0: any free port). */
  http?: { host?: string; port?: number };
  /** Exact origins allowed to open the WebSocket; default: the relay's own (http://host:port, and
   * http://localhost:port when bound to 127.0.0.1), so only the page it serves. */
  allowedOrigins?: readonly string[];
  /** WebSocket clients at once (default 64); one more is refused with 503. */
  maxClients?: number;
  /** Bytes a client may have queued before its datagrams are dropped (default 4 MiB). */
  maxBufferedBytes?: number;
  /** A client dropping every datagram this long is closed (default 5000 ms). */
  slowClientTimeoutMs?: number;
  /** The page: its folders and its config.json. `config.keyServer` (a URL) is added to the CSP's connect-src. */
  web?: WebOptions;
}

export interface RelayStats {
  /** WebSocket clients connected (closing ones included until their socket closes). */
  clients: number;
  packetsIn: number;
  bytesIn: number;
  /** Messages sent, summed over clients. */
  packetsOut: number;
  /** Datagrams skipped for a client whose buffer was full, summed over clients. */
  drops: number;
  closedSlow: number;
  refusedOrigin: number;
  refusedFull: number;
  /** Over the last whole second. */
  packetsInPerSecond: number;
  packetsOutPerSecond: number;
  perClient: ClientStats[];
}

export interface Relay {
  /** The UDP address bound (the group's when joined) and its port. */
  readonly udp: { address: string; port: number };
  /** http://HOST:PORT/ and ws://HOST:PORT/ws. */
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The origins accepted on the upgrade. */
  readonly allowedOrigins: readonly string[];
  stats(): RelayStats;
  /** Closes the clients (1001), the UDP socket and the HTTP server. */
  close(): Promise<void>;
}

const WS_PATH = "/ws";
const MAX_HEADER_BYTES = 8192;
/** HTTP connections beyond the WebSocket clients (page loads, refusals in progress). */
const EXTRA_CONNECTIONS = 64;

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) throw new NetError("ERR_ARGUMENT", `${name} must be a positive integer`);
  return n;
}

/** Writes a bodiless HTTP answer on a raw socket and destroys the socket once it is out (or after 1 s). */
function refuseRaw(socket: Duplex, status: number): void {
  if (!socket.writable) return void socket.destroy();
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) => reject(new NetError("ERR_BIND", `http ${host}:${port}: ${e.code ?? "failed"}`)));
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      resolve((server.address() as { port: number }).port);
    });
  });
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const maxClients = positiveInt("maxClients", options.maxClients, 64);
  const fanout = new Fanout({
    maxBufferedBytes: positiveInt("maxBufferedBytes", options.maxBufferedBytes, 4 << 20),
    slowClientTimeoutMs: positiveInt("slowClientTimeoutMs", options.slowClientTimeoutMs, 5000),
  });
  const given = options.allowedOrigins?.map((o) => {
    const origin = parseOrigin(o);
    if (origin === undefined) throw new NetError("ERR_ARGUMENT", `not an http(s) origin: ${o}`);
    return origin;
  });
  const keyServer = options.web?.config?.keyServer;
  const keyServerOrigin = typeof keyServer === "string" && URL.canParse(keyServer) ? parseOrigin(new URL(keyServer).origin) : undefined;
  if (keyServer !== undefined && keyServerOrigin === undefined) throw new NetError("ERR_ARGUMENT", "web.config.keyServer must be an http(s) URL");

  const host = options.http?.host ?? "127.0.0.1";
  const counts = { packetsIn: 0, bytesIn: 0, refusedOrigin: 0, refusedFull: 0 };
  let allowed = new Set<string>();
  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: 5000, requestTimeout: 10_000, keepAliveTimeout: 5000, connectionsCheckingInterval: 500,
  });
  server.maxConnections = maxClients + EXTRA_CONNECTIONS;
  server.on("connection", (socket: Duplex) => socket.on("error", () => {}));
  server.on("clientError", (err: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } }) => {
    if (socket._httpMessage?.headersSent) return void socket.destroy();
    refuseRaw(socket, err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400);
  });
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: 1024 });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    if ((req.url ?? "").split("?", 1)[0] !== WS_PATH) return refuseRaw(socket, 404);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.has(origin)) {
      counts.refusedOrigin++;
      return refuseRaw(socket, 403);
    }
    if (fanout.size >= maxClients) {
      counts.refusedFull++;
      return refuseRaw(socket, 503);
    }
    // ws calls back synchronously here (no verifyClient), or answers a malformed upgrade with 400 itself.
    wss.handleUpgrade(req, socket, head, (ws) => fanout.add(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`));
  });

  let port: number;
  let socket: dgram.Socket;
  try {
    port = await listen(server, options.http?.port ?? 0, host);
    const own = [`http://${host}:${port}`, ...(host === "127.0.0.1" ? [`http://localhost:${port}`] : [])];
    allowed = new Set(given ?? own);
    const wsOrigins = own.map((o) => o.replace(/^http/, "ws"));
    // The CSP names the port: the handler is set once listening, before any request can be read.
    server.on("request", webHandler(options.web, contentSecurityPolicy([...wsOrigins, ...(keyServerOrigin ? [keyServerOrigin] : [])])));
    socket = await bindUdpReceiver(options.udp);
  } catch (e) {
    server.close();
    throw e;
  }
  socket.on("message", (msg: Buffer) => {
    counts.packetsIn++;
    counts.bytesIn += msg.length;
    fanout.send(msg);
  });
  let last = { at: { in: 0, out: 0 }, rate: { in: 0, out: 0 } };
  const rateTimer = setInterval(() => {
    last = { at: { in: counts.packetsIn, out: fanout.packetsOut }, rate: { in: counts.packetsIn - last.at.in, out: fanout.packetsOut - last.at.out } };
  }, 1000);
  rateTimer.unref();
  const address = socket.address();
  return {
    udp: { address: address.address, port: address.port },
    httpUrl: `http://${host}:${port}/`,
    wsUrl: `ws://${host}:${port}${WS_PATH}`,
    allowedOrigins: [...allowed],
    stats: () => ({
      clients: fanout.size, ...counts, packetsOut: fanout.packetsOut, drops: fanout.drops, closedSlow: fanout.closedSlow,
      packetsInPerSecond: last.rate.in, packetsOutPerSecond: last.rate.out, perClient: fanout.stats(),
    }),
    async close() {
      clearInterval(rateTimer);
      await new Promise<void>((r) => socket.close(() => r()));
      await fanout.closeAll();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
