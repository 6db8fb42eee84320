// CORS on the key server (src/mbms/bmsc/cors.ts, key-server.ts) on 127.0.0.1: a listed origin's preflight
// gets 204 with the methods and the request headers the key client sends, its POST answers (errors too) the
// allow-origin and the exposed re-key headers; another origin gets no CORS header and its preflight 403;
// without corsOrigins nothing changes (OPTIONS 405, no CORS header).
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyServer, type KeyServer } from "../src/mbms/bmsc/key-server.js";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import { MemoryKeyStore } from "../src/mbms/bmsc/store/index.js";
import { silentLogger } from "../src/logger.js";
import { HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, KEYS_PATH, signRequest } from "../src/mbms/http-protocol.js";

const KEK = new Uint8Array(16).fill(7);
const PAGE = "http://127.0.0.1:8080";
let mgr: SessionManager;
let withCors: KeyServer;
let without: KeyServer;
const ports = { cors: 0, none: 0 };

beforeAll(async () => {
  mgr = await SessionManager.create({ store: new MemoryKeyStore(), logger: silentLogger, services: [{ serviceId: "news", tgkLifetimeMs: 3_600_000 }] });
  await mgr.addUser("alice", KEK);
  await mgr.start();
  withCors = createKeyServer({ manager: mgr, logger: silentLogger, corsOrigins: [PAGE, "https://tv.example/"] });
  without = createKeyServer({ manager: mgr, logger: silentLogger });
  ports.cors = (await withCors.listen()).port;
  ports.none = (await without.listen()).port;
});
afterAll(async () => {
  await mgr.stop();
  await withCors.close();
  await without.close();
});

function send(port: number, method: string, path: string, headers: Record<string, string>, body = ""): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A preflight as a browser sends it for the key client's fetch. */
const preflight = (port: number, origin: string) => send(port, "OPTIONS", KEYS_PATH, {
  origin, "access-control-request-method": "POST",
  "access-control-request-headers": "authorization,content-type,x-mbms-nonce,x-mbms-time,x-mbms-user",
});

function signedPost(port: number, origin: string | undefined, body = JSON.stringify({ serviceId: "news", have: [] })) {
  const auth = signRequest({ kek: KEK, userId: "alice", method: "POST", path: KEYS_PATH, body, timeMs: Date.now() });
  return send(port, "POST", KEYS_PATH, { ...auth, "content-type": "application/json", ...(origin ? { origin } : {}) }, body);
}

const CORS_HEADERS = ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-expose-headers", "access-control-max-age"];
const corsOf = (h: http.IncomingHttpHeaders) => CORS_HEADERS.filter((k) => h[k] !== undefined);

describe("key server CORS", () => {
  it("answers a listed origin's preflight with 204: POST, the key client's request headers, a max-age", async () => {
    for (const origin of [PAGE, "https://tv.example"]) {
      const a = await preflight(ports.cors, origin);
      expect(a.status).toBe(204);
      expect(a.headers["access-control-allow-origin"]).toBe(origin);
      expect(a.headers.vary).toBe("origin");
      expect(a.headers["access-control-allow-methods"]).toBe("POST");
      expect(a.headers["access-control-allow-headers"]!.split(", ").sort()).toEqual(["authorization", "content-type", "x-mbms-nonce", "x-mbms-time", "x-mbms-user"]);
      expect(Number(a.headers["access-control-max-age"])).toBeGreaterThan(0);
    }
  });

  it("refuses another origin's preflight with 403 and no CORS header", async () => {
    for (const origin of ["https://evil.example", "http://127.0.0.1:8081", "null"]) {
      const a = await preflight(ports.cors, origin);
      expect([origin, a.status, corsOf(a.headers)]).toEqual([origin, 403, []]);
    }
  });

  it("adds allow-origin and exposes the re-key window headers on the POST answer, errors included", async () => {
    const ok = await signedPost(ports.cors, PAGE);
    expect(ok.status).toBe(200);
    expect(ok.headers["access-control-allow-origin"]).toBe(PAGE);
    expect(ok.headers["access-control-expose-headers"]!.split(", ")).toEqual(expect.arrayContaining([HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, "retry-after"]));
    expect(ok.headers[HEADER_REKEY_FROM]).toMatch(/^\d+$/);
    const bad = await signedPost(ports.cors, PAGE, JSON.stringify({ serviceId: "no-such-service", have: [] }));
    expect(bad.status).toBe(404);
    expect(bad.headers["access-control-allow-origin"]).toBe(PAGE);
    const unauth = await send(ports.cors, "POST", KEYS_PATH, { origin: PAGE, "content-type": "application/json" }, "{}");
    expect([unauth.status, unauth.headers["access-control-allow-origin"]]).toEqual([401, PAGE]);
  });

  it("gives another origin's POST, and a POST without Origin, no CORS header (the browser then hides the answer)", async () => {
    const evil = await signedPost(ports.cors, "https://evil.example");
    expect([evil.status, corsOf(evil.headers), evil.headers.vary]).toEqual([200, [], "origin"]);
    expect(corsOf((await signedPost(ports.cors, undefined)).headers)).toEqual([]);
  });

  it("without corsOrigins: OPTIONS is 405 and no answer has a CORS header, as before", async () => {
    const a = await preflight(ports.none, PAGE);
    expect([a.status, corsOf(a.headers)]).toEqual([405, []]);
    const ok = await signedPost(ports.none, PAGE);
    expect([ok.status, corsOf(ok.headers), ok.headers.vary]).toEqual([200, [], undefined]);
  });

  it("refuses a malformed origin in the list with a typed error", () => {
    expect(() => createKeyServer({ manager: mgr, logger: silentLogger, corsOrigins: ["https://tv.example/page"] })).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    expect(() => createKeyServer({ manager: mgr, logger: silentLogger, corsOrigins: ["*"] })).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
  });
});
