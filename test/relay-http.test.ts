// The relay's HTTP side (src/net/static-files.ts, src/net/relay-server.ts) against raw requests on 127.0.0.1:
// the page's files from two mounts with their MIME types and security headers, /config.json, and refusals —
// path traversal (plain, %-encoded, backslash, NUL), directories, non-GET, a huge header, garbage, bad upgrades —
// each with its status, after which the relay still serves files and forwards datagrams.
import dgram from "node:dgram";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startRelay, type Relay } from "../src/net/relay-server.js";

let root = "";
let r: Relay;
let port = 0;
const CONFIG = { keyServer: "http://127.0.0.1:18443/", serviceId: "urn:mbms:demo:1", userId: "ue-web" };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "relay-http-"));
  writeFileSync(join(root, "secret.txt"), "outside the mounts");
  mkdirSync(join(root, "www", "sub"), { recursive: true });
  mkdirSync(join(root, "dist"));
  writeFileSync(join(root, "www", "index.html"), "<!doctype html><title>page</title>");
  writeFileSync(join(root, "www", "app.js"), "export {};");
  writeFileSync(join(root, "www", ".env"), "dotfile");
  writeFileSync(join(root, "www", "sub", "s.css"), "body{}");
  writeFileSync(join(root, "dist", "core.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d]));
  writeFileSync(join(root, "dist", "index.mjs"), "export {};");
  r = await startRelay({
    udp: { port: 0 },
    web: { mounts: [{ prefix: "/", dir: join(root, "www") }, { prefix: "/dist/", dir: join(root, "dist") }], config: CONFIG },
  });
  port = Number(new URL(r.httpUrl).port);
});
afterAll(async () => {
  await r?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The relay closed the socket (every request here asks for connection: close, so a 200 closes too). */
  closed: boolean;
}

/** Sends `request` as raw bytes and reads the answer until the socket closes (3 s at most). */
function raw(request: string | Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(t);
      const text = Buffer.concat(chunks).toString("latin1");
      const [head = "", body = ""] = text.split(/\r\n\r\n(.*)/s);
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, closed });
    };
    const t = setTimeout(() => (s.destroy(), done(false)), 3000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => {});
    s.on("close", () => done(true));
    s.write(request);
  });
}
const get = (target: string, extra = "") => raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);

describe("relay HTTP: the page", () => {
  it("serves / as the '/' mount's index.html and files of both mounts with their MIME types", async () => {
    const cases: [string, string, string][] = [
      ["/", "text/html; charset=utf-8", "<!doctype html><title>page</title>"], ["/app.js", "text/javascript; charset=utf-8", "export {};"],
      ["/sub/s.css", "text/css; charset=utf-8", "body{}"], ["/dist/index.mjs", "text/javascript; charset=utf-8", "export {};"],
      ["/dist/core.wasm", "application/wasm", "\0asm"], ["/app.js?v=1", "text/javascript; charset=utf-8", "export {};"],
    ];
    for (const [path, type, body] of cases) {
      const a = await get(path);
      expect([path, a.status, a.headers["content-type"], a.body]).toEqual([path, 200, type, body]);
    }
  });

  it("sends nosniff, no-store and a CSP that allows own scripts, workers, WASM and connects to the ws and the key server only", async () => {
    const a = await get("/");
    expect(a.headers["x-content-type-options"]).toBe("nosniff");
    expect(a.headers["cache-control"]).toBe("no-store");
    const csp = Object.fromEntries(a.headers["content-security-policy"]!.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
    expect(csp["default-src"]).toEqual(["'none'"]);
    expect(csp["script-src"]).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(csp["worker-src"]).toEqual(["'self'"]);
    expect(csp["connect-src"]).toEqual(["'self'", `ws://127.0.0.1:${port}`, `ws://localhost:${port}`, "http://127.0.0.1:18443"]);
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    expect((await get("/nothing-here")).headers["content-security-policy"]).toBe(a.headers["content-security-policy"]);
  });

  it("GET /config.json is the config given, as JSON", async () => {
    const a = await get("/config.json");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(a.body)).toEqual(CONFIG);
  });

  it("a key server that is not an http(s) URL, or a mount prefix without slashes, is a typed error", async () => {
    await expect(startRelay({ udp: { port: 0 }, web: { mounts: [], config: { keyServer: "javascript:alert(1)" } } })).rejects.toMatchObject({ code: "ERR_ARGUMENT" });
    await expect(startRelay({ udp: { port: 0 }, web: { mounts: [{ prefix: "dist", dir: root }] } })).rejects.toMatchObject({ code: "ERR_ARGUMENT" });
  });
});

describe("relay HTTP: hostile requests", () => {
  it("refuses path traversal in every spelling, dotfiles, directories and missing files with 404", async () => {
    const targets = [
      "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/dist/../../secret.txt", "/dist/%2e%2e/%2e%2e/secret.txt",
      "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/sub/..%5c..%5csecret.txt", "/app.js%00.png", "/.env", "/%2eenv",
      "/sub", "/sub/", "/dist/", "/missing.js", "/%ff", "/%", "*",
    ];
    for (const t of targets) {
      const a = await get(t);
      expect([t, a.status]).toEqual([t, 404]);
      expect(a.body).not.toContain("outside the mounts");
    }
  });

  it("answers other methods with 405 (allow: GET), a huge header with 431, garbage with 400, and closes", async () => {
    for (const m of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]) {
      const a = await raw(`${m} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      expect([m, a.status, a.headers.allow]).toEqual([m, 405, "GET"]);
    }
    const huge = await get("/", `X-Filler: ${"a".repeat(16 << 10)}\r\n`);
    expect([huge.status, huge.closed]).toEqual([431, true]);
    const garbage = await raw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect([garbage.status, garbage.closed]).toEqual([400, true]);
    for (const line of ["GET /\x7f HTTP/9.9", "GET secret.txt HTTP/1.1", "GET /a b HTTP/1.1"]) {
      const a = await raw(`${line}\r\nHost: x\r\n\r\n`);
      expect([line, a.status, a.closed]).toEqual([line, 400, true]);
    }
  });

  it("refuses bad upgrades: another path 404, no key or another protocol 400, and closes the socket", async () => {
    const up = (path: string, headers: string) => raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n${headers}\r\n`);
    const ws = "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const cases: [string, string, number][] = [
      ["/other", `Upgrade: websocket\r\n${ws}`, 404], ["/ws/../ws", `Upgrade: websocket\r\n${ws}`, 404],
      ["/ws", "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", 400], ["/ws", "Upgrade: h2c\r\n", 400],
      ["/ws", "Upgrade: websocket\r\nSec-WebSocket-Version: 7\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400],
    ];
    for (const [path, headers, status] of cases) {
      const a = await up(path, headers);
      expect([path, headers, a.status, a.closed]).toEqual([path, headers, status, true]);
    }
  });

  it("still serves the page and forwards datagrams afterwards", async () => {
    expect((await get("/")).status).toBe(200);
    const ws = new WebSocket(r.wsUrl, { origin: `http://127.0.0.1:${port}` });
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    const got = new Promise<Buffer>((resolve) => ws.once("message", (d: Buffer) => resolve(d)));
    const s = dgram.createSocket("udp4");
    s.send(Buffer.from("after the attacks"), r.udp.port, "127.0.0.1");
    expect((await got).toString()).toBe("after the attacks");
    s.close();
    ws.terminate();
  });
});
