// The BM-SC key server (src/mbms/bmsc/key-server.ts) on a real `http` server at 127.0.0.1 (port 0):
// the happy path opened with openMbmsKeyMessage, one 401 body for every authentication failure, 400/404/
// 405/413, and a few hundred garbage requests (raw bytes and random HTTP) that must not crash it.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyServer, type KeyServer, type RequestInfo } from "../src/mbms/bmsc/key-server.js";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import { silentLogger } from "../src/logger.js";
import { MemoryKeyStore } from "../src/mbms/bmsc/store/index.js";
import {
  HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, KEYS_PATH, REQUEST_KEY_LABEL, newNonce, requestAuthKey, signRequest,
} from "../src/mbms/http-protocol.js";
import { openMbmsKeyMessage } from "../src/mbms/key-message.js";
import { mikeyPrf } from "../src/mikey/prf.js";
import { createHmac } from "node:crypto";
import { prng } from "./helpers/prng.js";

const KEK = new Uint8Array(16).map((_, i) => i + 1);
const DAVE_KEK = new Uint8Array(16).fill(0xda);
let ks: KeyServer;
let mgr: SessionManager;
let port = 0;
const infos: RequestInfo[] = [];

beforeAll(async () => {
  mgr = await SessionManager.create({
    store: new MemoryKeyStore(), logger: silentLogger,
    services: [{ serviceId: "news", tgkLifetimeMs: 3_600_000, tekRand2PeriodMs: 60_000 }, { serviceId: "weather", tgkLifetimeMs: 3_600_000 }],
  });
  await mgr.addUser("alice", KEK);
  await mgr.addUser("dave", DAVE_KEK, ["news"]);
  await mgr.addUser("mallory", new Uint8Array(32).fill(9));
  await mgr.setUserDisabled("mallory", true);
  await mgr.start();
  // The protocol, not the limits (test/key-server-limits.test.ts): signed requests here come faster than a UE's.
  ks = createKeyServer({ manager: mgr, logger: silentLogger, onRequest: (i) => infos.push(i), rateLimit: { ratePerSec: 1000, burst: 1000 } });
  port = (await ks.listen(0, "127.0.0.1")).port;
});
afterAll(async () => {
  await mgr.stop();
  await ks.close();
});

interface Resp { status: number; headers: http.IncomingHttpHeaders; body: Buffer }
function send(method: string, path: string, headers: Record<string, string | number>, body: string | Buffer = ""): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function signed(opts: { userId?: string; kek?: Uint8Array; body?: string; timeMs?: number; nonce?: string; path?: string } = {}) {
  const body = opts.body ?? JSON.stringify({ serviceId: "news", have: [] });
  const headers = signRequest({
    kek: opts.kek ?? KEK, userId: opts.userId ?? "alice", method: "POST", path: opts.path ?? KEYS_PATH, body,
    timeMs: opts.timeMs ?? Date.now(), ...(opts.nonce ? { nonce: opts.nonce } : {}),
  });
  return { headers: { ...headers, "content-type": "application/json" } as Record<string, string>, body };
}
const post = (s: ReturnType<typeof signed>) => send("POST", KEYS_PATH, s.headers, s.body);

describe("http-protocol", () => {
  it("K_req = MIKEY PRF(KEK, 'mbms-srtp http request key v1', 20) and the MAC is HMAC-SHA1 over the documented string", () => {
    expect(new TextDecoder().decode(REQUEST_KEY_LABEL)).toBe("mbms-srtp http request key v1");
    const kReq = requestAuthKey(KEK);
    expect(Buffer.from(kReq).toString("hex")).toBe(Buffer.from(mikeyPrf(KEK, REQUEST_KEY_LABEL, 20)).toString("hex"));
    const nonce = newNonce();
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    const h = signRequest({ kek: KEK, userId: "alice", method: "POST", path: KEYS_PATH, body: "{}", timeMs: 1234, nonce });
    const expected = createHmac("sha1", kReq).update(`POST\n${KEYS_PATH}\nalice\n1234\n${nonce}\n{}`).digest("hex");
    expect(h).toEqual({ "x-mbms-user": "alice", "x-mbms-time": "1234", "x-mbms-nonce": nonce, authorization: `MBMS-HMAC-SHA1 ${expected}` });
  });
});

describe("key server", () => {
  it("happy path: a MIKEY key message the UE opens with its KEK, plus the retrieval window", async () => {
    const r = await post(signed());
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/mikey");
    const from = Number(r.headers[HEADER_REKEY_FROM]);
    const window = Number(r.headers[HEADER_REKEY_WINDOW]);
    const d = openMbmsKeyMessage(new Uint8Array(r.body), { kek: KEK });
    expect(d.serviceId).toBe("news");
    expect(d.userId).toBe("alice");
    const tgks = await mgr.store.listTgks("news");
    expect(d.tgks.map((t) => t.tgkId)).toEqual(tgks.map((t) => t.tgkId));
    expect(Buffer.from(d.tgks[0]!.tgk).equals(Buffer.from(tgks[0]!.tgk))).toBe(true);
    const E = tgks[tgks.length - 1]!.expiresAt;
    expect(from).toBeGreaterThanOrEqual(E - 900_000);
    expect(window).toBeGreaterThan(0);
    expect(from + window).toBeLessThanOrEqual(E - 450_000);
  });

  it("401 with one fixed body for unknown user, disabled user, bad MAC, stale time, future time, replayed nonce, missing headers", async () => {
    const cases: Record<string, Resp> = {};
    cases.unknownUser = await post(signed({ userId: "bob" }));
    cases.disabledUser = await post(signed({ userId: "mallory", kek: new Uint8Array(32).fill(9) }));
    cases.badMac = await post(signed({ kek: new Uint8Array(16).fill(0xee) }));
    const tampered = signed();
    cases.tamperedBody = await send("POST", KEYS_PATH, tampered.headers, tampered.body.replace("[]", "[1]"));
    cases.staleTime = await post(signed({ timeMs: Date.now() - 6 * 60_000 }));
    cases.futureTime = await post(signed({ timeMs: Date.now() + 6 * 60_000 }));
    const once = signed();
    expect((await post(once)).status).toBe(200);
    cases.replay = await post(once);
    const { authorization: _a, ...noAuth } = signed().headers;
    cases.missingAuth = await send("POST", KEYS_PATH, noAuth, signed().body);
    for (const [name, r] of Object.entries(cases)) {
      expect([name, r.status]).toEqual([name, 401]);
      expect([name, r.body.toString()]).toEqual([name, '{"error":"unauthorized"}']);
      expect(r.headers[HEADER_REKEY_FROM]).toBeUndefined();
    }
    const reasons = infos.filter((i) => i.status === 401).map((i) => i.reason);
    for (const r of ["unknown_user", "disabled_user", "bad_mac", "stale_time", "replayed_nonce", "missing_header"]) expect(reasons).toContain(r);
  });

  it("403 with a fixed body for a service the user is not subscribed to (distinct from 401 and 404), no key message", async () => {
    const body = (serviceId: string) => JSON.stringify({ serviceId, have: [] });
    const r = await post(signed({ userId: "dave", kek: DAVE_KEK, body: body("weather") }));
    expect([r.status, r.body.toString(), r.headers[HEADER_REKEY_FROM]]).toEqual([403, '{"error":"forbidden"}', undefined]);
    expect(infos.at(-1)).toMatchObject({ status: 403, reason: "not_subscribed", userId: "dave", serviceId: "weather" });
    expect((await post(signed({ userId: "dave", kek: DAVE_KEK, body: body("news") }))).status).toBe(200);
    expect((await post(signed({ body: body("weather") }))).status).toBe(200); // alice: every service (addUser's default)
    expect((await post(signed({ userId: "dave", kek: DAVE_KEK, body: body("sports") }))).status).toBe(404);
    expect((await post(signed({ userId: "dave", kek: KEK, body: body("weather") }))).status).toBe(401);
  });

  it("400 for malformed JSON or headers, 404 for unknown service or path, 405 for another method, 413 for a big body", async () => {
    for (const body of ["{", "[]", '{"serviceId":1,"have":[]}', '{"serviceId":"news"}', '{"serviceId":"news","have":[-1]}', '{"serviceId":"news","have":"x"}', "\xff\xfe"]) {
      const r = await post(signed({ body }));
      expect([body, r.status, r.body.toString()]).toEqual([body, 400, '{"error":"bad_request"}']);
    }
    const s = signed();
    for (const [k, v] of [["x-mbms-time", "12x"], ["x-mbms-nonce", "abc"], ["authorization", "Basic Zm9v"], ["x-mbms-nonce", "A".repeat(32)]] as const) {
      const r = await send("POST", KEYS_PATH, { ...s.headers, [k]: v }, s.body);
      expect([k, v, r.status]).toEqual([k, v, 400]);
    }
    const unknown = await post(signed({ body: JSON.stringify({ serviceId: "sports", have: [] }) }));
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toBe('{"error":"not_found"}');
    expect((await send("POST", "/mbms/v1/other", s.headers, s.body)).status).toBe(404);
    expect((await send("POST", `${KEYS_PATH}?x=1`, s.headers, s.body)).status).toBe(404);
    const get = await send("GET", KEYS_PATH, {});
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    const big = signed({ body: JSON.stringify({ serviceId: "news", have: [], pad: "x".repeat(5000) }) });
    const r413 = await post(big);
    expect(r413.status).toBe(413);
    expect(r413.body.toString()).toBe('{"error":"too_large"}');
    // Chunked (no content-length) bodies are cut off while reading too.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: KEYS_PATH, headers: big.headers, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (e) => (String(e).includes("EPIPE") || String(e).includes("ECONNRESET") ? resolve(413) : reject(e)));
      for (let i = 0; i < 10; i++) req.write("x".repeat(1000));
      req.end();
    });
    expect(chunked).toBe(413);
    const manyHeaders = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-pad-${i}`, "1"]));
    expect((await send("POST", KEYS_PATH, { ...s.headers, ...manyHeaders }, s.body)).status).toBe(400);
    // Still serving.
    expect((await post(signed())).status).toBe(200);
  });

  it("survives a few hundred garbage requests and client aborts", async () => {
    const next = prng(0xb35c);
    const rnd = () => next(1 << 30) / (1 << 30);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
    const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const raw = (data: Buffer, abort: boolean) => new Promise<void>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.on("error", () => resolve());
      sock.on("close", () => resolve());
      sock.setTimeout(2000, () => sock.destroy());
      sock.on("connect", () => {
        sock.write(data);
        if (abort) sock.destroy();
        else sock.end();
      });
      sock.resume();
    });
    const statuses = new Map<number, number>();
    let clientErrors = 0;
    for (let i = 0; i < 300; i++) {
      const kind = i % 3;
      if (kind === 0) {
        await raw(bytes(1 + Math.floor(rnd() * 600)), rnd() < 0.3);
      } else if (kind === 1) {
        // Plausible HTTP with mangled parts.
        const s = signed();
        const headers: Record<string, string> = { ...s.headers };
        const k = pick(Object.keys(headers));
        const mode = Math.floor(rnd() * 4);
        const printable = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x20 + Math.floor(rnd() * 95))).join("");
        if (mode === 0) headers[k] = printable(1 + Math.floor(rnd() * 60));
        else if (mode === 1) delete headers[k];
        else if (mode === 2) headers[k] = headers[k]!.slice(0, Math.floor(rnd() * headers[k]!.length));
        const body = rnd() < 0.5 ? s.body : bytes(Math.floor(rnd() * 200));
        const method = rnd() < 0.8 ? "POST" : pick(["GET", "PUT", "DELETE", "OPTIONS"]);
        const path = rnd() < 0.8 ? KEYS_PATH : pick(["/", "/mbms", `${KEYS_PATH}/x`, "//".repeat(50), "*"]);
        try {
          const r = await send(method, path, headers, body);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          expect(r.status).toBeLessThan(500);
        } catch {
          clientErrors++; // a reset connection is fine; the server must just stay up
        }
      } else {
        // Half-sent requests, aborted mid-body.
        const s = signed();
        const head = `POST ${KEYS_PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n{"servi`;
        await raw(Buffer.from(head), true);
      }
    }
    expect((await post(signed())).status).toBe(200);
    expect(infos.some((i) => i.status === 500)).toBe(false);
    console.info(`garbage: 300 requests, statuses of the HTTP-shaped ones: ${JSON.stringify(Object.fromEntries(statuses))}, client-side errors ${clientErrors}`);
  });
});
