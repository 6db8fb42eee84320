/**
 * The BM-SC key server: Node `http`, one route, `POST /mbms/v1/keys` (src/mbms/http-protocol.ts).
 * Every request is authenticated (request-auth.ts) before anything in its body is acted on (the body is
 * parsed first, bounded, so that one store call reads what the request needs); the answer is a MIKEY key
 * message from the SessionManager with the user's retrieval window for the next request.
 *
 * Robustness: bodies over 4 KiB → 413 (checked on content-length and while reading); at most
 * `maxHeaders` header lines and `maxHeaderBytes` of headers; client aborts and socket errors are swallowed;
 * any unexpected exception answers 500 without detail — a store that fails or cannot be reached too (the
 * request path awaits it: authentication, nonce, subscription, delivery). Error bodies are fixed JSON
 * strings and never mention keys; log lines carry codes and counts only.
 *
 * Slow and greedy clients: at most `maxConnections` sockets in all and `maxConnectionsPerIp` per client
 * address (counted on connection/close; the excess is destroyed at once); headers must arrive within
 * `headersTimeoutMs`, the whole request within `requestTimeoutMs`, and an idle keep-alive socket is closed
 * after `keepAliveTimeoutMs`. Node checks the first two every `connectionsCheckingIntervalMs` (its own
 * default, 30 s, would let a stalled socket live up to 30 s past its timeout). A timed-out or malformed
 * request gets its 408/400 and the socket is destroyed, not half-closed: a client that never reads or
 * closes cannot keep it open.
 *
 * CORS (cors.ts), only with `corsOrigins`: a listed origin's preflight `OPTIONS /mbms/v1/keys` gets 204,
 * its answers (errors included) the allow-origin and expose-headers; another origin's preflight gets 403.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { CryptoCore } from "../../wasm/core.js";
import {
  CONTENT_TYPE_JSON, CONTENT_TYPE_MIKEY, DEFAULT_MAX_SKEW_MS, HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, KEYS_METHOD, KEYS_PATH,
  MAX_BODY_BYTES, type ErrorBodyCode, type KeyRequestBody,
} from "../http-protocol.js";
import { authenticateRequest, type AuthResult } from "./request-auth.js";
import { UserRateLimiter, type RateLimitOptions } from "./rate-limiter.js";
import { KeyServerCors } from "./cors.js";
import { consoleLogger, type Logger } from "../../logger.js";
import type { KeyResponse, SessionManager } from "./session-manager.js";
import { wipeKeyRequestRead, type KeyRequestRead } from "./store/index.js";

export interface KeyServerOptions {
  manager: SessionManager;
  /** Tolerated client clock skew (default 5 min). */
  maxSkewMs?: number;
  /** Header lines allowed per request (default 32). */
  maxHeaders?: number;
  /** Bytes of request line + headers (default 8 KiB). */
  maxHeaderBytes?: number;
  /** Time allowed for the whole request (default 10 s) and its headers (default 5 s). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** An idle keep-alive socket is closed after this long (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** How often Node looks for requests past their timeouts (default 500 ms). */
  connectionsCheckingIntervalMs?: number;
  /** Open sockets in all (default 1024) and per client IP address (default 128: UEs behind one NAT). */
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  /** How often expired nonces are purged besides the purge each stored nonce does (default 60 s). */
  purgeIntervalMs?: number;
  /**
   * Per-user token bucket of authentic requests (rate-limiter.ts; default 2/s, burst 5). A UE asks once
   * per TGK lifetime plus retries; over the limit: 429 with retry-after.
   */
  rateLimit?: RateLimitOptions;
  /** Live request nonces kept per user (default 128); beyond: 429 until the soonest expires. */
  maxNoncesPerUser?: number;
  /** Web origins (http(s)://host[:port]) whose pages may call the key server with fetch (CORS); default none: no CORS header. */
  corsOrigins?: readonly string[];
  logger?: Logger;
  core?: CryptoCore;
  /** Called once per request that reached the handler, with its outcome (metrics, tests). */
  onRequest?: (info: RequestInfo) => void;
}

export interface RequestInfo {
  status: number;
  /** Why a 4xx/5xx happened (never sent to the client). */
  reason?: string;
  userId?: string;
  serviceId?: string;
  /** Clock time (manager's clock) when the request's body was complete. */
  at: number;
}

export interface KeyServer {
  readonly server: http.Server;
  /** The per-user token buckets (its `size`: users held). */
  readonly limiter: UserRateLimiter;
  /** Listens (default 127.0.0.1, port 0) and resolves with the address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
  /** The request handler, for mounting in another server. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Nonce purges (the purgeIntervalMs timer) that failed, each logged with its code; the next is tried on time. */
  readonly purgeFailures: number;
}

const ERROR_STATUS: Record<ErrorBodyCode, number> = {
  bad_request: 400, unauthorized: 401, forbidden: 403, not_found: 404, method_not_allowed: 405, too_large: 413,
  request_timeout: 408, too_many_requests: 429, internal: 500,
};
const errorBodies = Object.fromEntries(
  Object.keys(ERROR_STATUS).map((k) => [k, Buffer.from(JSON.stringify({ error: k }))]),
) as Record<ErrorBodyCode, Buffer>;

const MAX_HAVE = 64;
const SERVICE_ID_MAX = 256;

/** Parses and checks the JSON body; undefined when malformed. */
export function parseKeyRequestBody(body: Uint8Array): KeyRequestBody | undefined {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const { serviceId, have } = v as Record<string, unknown>;
  if (typeof serviceId !== "string" || serviceId.length === 0 || serviceId.length > SERVICE_ID_MAX) return undefined;
  if (!Array.isArray(have) || have.length > MAX_HAVE) return undefined;
  if (!have.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) return undefined;
  return { serviceId, have: have as number[] };
}

export function createKeyServer(options: KeyServerOptions): KeyServer {
  const { manager } = options;
  const log = options.logger ?? consoleLogger;
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const maxHeaders = options.maxHeaders ?? 32;
  const onRequest = options.onRequest;
  const limiter = new UserRateLimiter(options.rateLimit);
  const maxNoncesPerUser = options.maxNoncesPerUser ?? 128;
  const cors = options.corsOrigins?.length ? new KeyServerCors(options.corsOrigins) : undefined;
  /** Requests and purges still awaiting the store (close waits for them). */
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const report = (info: RequestInfo) => {
    if (!onRequest) return;
    try {
      onRequest(info);
    } catch {
      /* a metrics hook must not break the server */
    }
  };

  const sendError = (res: http.ServerResponse, code: ErrorBodyCode, extra: Record<string, string> = {}, close = false) => {
    if (res.headersSent || res.destroyed) return;
    const body = errorBodies[code];
    res.writeHead(ERROR_STATUS[code], {
      "content-type": CONTENT_TYPE_JSON, "content-length": body.length, "cache-control": "no-store",
      ...(close ? { connection: "close" } : {}), ...extra,
    });
    res.end(body);
  };

  /**
   * One request: the body is checked before the user is read, so that a request for a known service reads
   * everything it needs in one store call (readKeyRequest); the answers keep the order authentication
   * first, then body, service, subscription. The read's keys are wiped however the request ends.
   */
  const respond = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const at = manager.clock.now();
    const parsed = parseKeyRequestBody(body);
    const serviceId = parsed && manager.hasService(parsed.serviceId) ? parsed.serviceId : undefined;
    let read: KeyRequestRead | undefined;
    // The authentication zeroes the KEK it is given: it gets a copy, the key message needs the original.
    const readUser = serviceId === undefined ? undefined : async (userId: string) => {
      read = await manager.store.readKeyRequest(userId, serviceId);
      return read.user && { ...read.user, kek: read.user.kek.slice() };
    };
    try {
      const auth: AuthResult = await authenticateRequest(
        { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body },
        { store: manager.store, now: at, maxSkewMs, limiter, maxNoncesPerUser, ...(readUser ? { readUser } : {}), ...(options.core ? { core: options.core } : {}) },
      );
      if (!auth.ok && auth.status === 429) {
        report({ status: 429, reason: auth.reason, userId: auth.userId, at });
        return sendError(res, "too_many_requests", { "retry-after": String(Math.max(1, Math.ceil(auth.retryAfterMs / 1000))) });
      }
      if (!auth.ok) {
        report({ status: auth.status, reason: auth.reason, at });
        return sendError(res, auth.status === 400 ? "bad_request" : "unauthorized");
      }
      if (!parsed) {
        report({ status: 400, reason: "bad_body", userId: auth.userId, at });
        return sendError(res, "bad_request");
      }
      if (serviceId === undefined) {
        report({ status: 404, reason: "unknown_service", userId: auth.userId, at });
        return sendError(res, "not_found");
      }
      let kr: KeyResponse;
      try {
        // A UE that names TGKs it holds has the service's TEK_RAND: it gets an update without it.
        kr = await manager.keyResponse(auth.userId, serviceId, { update: parsed.have.length > 0, ...(read ? { read } : {}) });
      } catch (e) {
        if ((e as { code?: unknown }).code !== "ERR_FORBIDDEN") throw e;
        report({ status: 403, reason: "not_subscribed", userId: auth.userId, serviceId, at });
        return sendError(res, "forbidden");
      }
      if (res.destroyed) return; // the client left while the store was asked
      res.writeHead(200, {
        "content-type": CONTENT_TYPE_MIKEY,
        "content-length": kr.body.length,
        "cache-control": "no-store",
        [HEADER_REKEY_FROM]: String(kr.rekeyFrom),
        [HEADER_REKEY_WINDOW]: String(kr.rekeyWindow),
      });
      res.end(kr.body);
      report({ status: 200, userId: auth.userId, serviceId, at });
    } finally {
      if (read) wipeKeyRequestRead(read);
    }
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    req.on("error", () => {});
    res.on("error", () => {});
    try {
      const url = req.url ?? "";
      const origin = req.headers.origin;
      // On every answer, errors included (writeHead merges them): the page can read why it failed.
      if (cors) for (const [k, v] of Object.entries(cors.answerHeaders(origin))) res.setHeader(k, v);
      if (url !== KEYS_PATH) {
        report({ status: 404, reason: "unknown_path", at: manager.clock.now() });
        return sendError(res, "not_found", {}, true);
      }
      if (cors && req.method === "OPTIONS") {
        const preflight = cors.preflightHeaders(origin);
        report({ status: preflight ? 204 : 403, ...(preflight ? {} : { reason: "cors_origin" }), at: manager.clock.now() });
        if (!preflight) return sendError(res, "forbidden", {}, true);
        res.writeHead(204, preflight);
        return void res.end();
      }
      if (req.method !== KEYS_METHOD) {
        report({ status: 405, reason: "method", at: manager.clock.now() });
        return sendError(res, "method_not_allowed", { allow: KEYS_METHOD }, true);
      }
      if (req.rawHeaders.length / 2 > maxHeaders) {
        report({ status: 400, reason: "too_many_headers", at: manager.clock.now() });
        return sendError(res, "bad_request", {}, true);
      }
      const declared = req.headers["content-length"];
      if (declared !== undefined && (!/^[0-9]+$/.test(declared) || Number(declared) > MAX_BODY_BYTES)) {
        const tooLarge = /^[0-9]+$/.test(declared);
        report({ status: tooLarge ? 413 : 400, reason: "content_length", at: manager.clock.now() });
        return sendError(res, tooLarge ? "too_large" : "bad_request", {}, true);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      req.on("data", (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          done = true;
          chunks.length = 0;
          report({ status: 413, reason: "body_size", at: manager.clock.now() });
          sendError(res, "too_large", {}, true);
          req.pause();
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => {
        if (done) return;
        done = true;
        track(respond(req, res, Buffer.concat(chunks, size)).catch((e: unknown) => {
          log("error", "key request failed", { code: (e as { code?: string }).code ?? "unknown" });
          report({ status: 500, reason: "internal", at: manager.clock.now() });
          sendError(res, "internal", {}, true);
        }));
      });
      req.on("aborted", () => {
        done = true;
      });
    } catch (e) {
      log("error", "key request failed", { code: (e as { code?: string }).code ?? "unknown" });
      sendError(res, "internal", {}, true);
    }
  };

  const server = http.createServer({
    maxHeaderSize: options.maxHeaderBytes ?? 8192,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    headersTimeout: options.headersTimeoutMs ?? 5_000,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    connectionsCheckingInterval: options.connectionsCheckingIntervalMs ?? 500,
  }, handle);
  server.maxHeadersCount = maxHeaders + 1; // one more than allowed, so that the handler sees the excess
  server.maxConnections = options.maxConnections ?? 1024;
  server.on("clientError", (err: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } }) => {
    // A response already on its way cannot be followed by another one on the same socket.
    if (!socket.writable || socket.destroyed || socket._httpMessage?.headersSent) return void socket.destroy();
    const code: ErrorBodyCode = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "request_timeout" : "bad_request";
    const body = errorBodies[code];
    const status = `${ERROR_STATUS[code]} ${http.STATUS_CODES[ERROR_STATUS[code]]}`;
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: ${CONTENT_TYPE_JSON}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString()}`, () => socket.destroy());
    // end() only half-closes (the HTTP server allows half-open sockets), and its callback waits for the
    // bytes to leave: a peer that never reads must not keep the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  const maxPerIp = options.maxConnectionsPerIp ?? 128;
  const perIp = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    socket.on("error", () => {});
    const ip = socket.remoteAddress ?? "";
    const n = (perIp.get(ip) ?? 0) + 1;
    perIp.set(ip, n);
    socket.once("close", () => {
      const left = perIp.get(ip)! - 1;
      if (left === 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
    if (n > maxPerIp) socket.destroy();
  });

  let purgeTimer: ReturnType<typeof setInterval> | undefined;
  let purging = false;
  let purgeFailures = 0;
  const startPurge = () => {
    purgeTimer = setInterval(() => {
      if (purging) return; // the last purge still awaits the store: never two at once
      purging = true;
      track(manager.store.purgeNonces(manager.clock.now()).then(() => undefined, (e: unknown) => {
        purgeFailures++;
        log("warn", "nonce purge failed", { code: (e as { code?: string }).code ?? "unknown" });
      }).finally(() => {
        purging = false;
      }));
    }, options.purgeIntervalMs ?? 60_000);
    purgeTimer.unref();
  };

  return {
    server,
    limiter,
    handle,
    get purgeFailures() {
      return purgeFailures;
    },
    listen(port = 0, host = "127.0.0.1") {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          if (!purgeTimer) startPurge();
          resolve(server.address() as AddressInfo);
        });
      });
    },
    /** Stops listening, closes every connection and waits for what still awaits the store. */
    async close() {
      if (purgeTimer) clearInterval(purgeTimer);
      purgeTimer = undefined;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all(inFlight);
    },
  };
}
