// `mbms-srtp relay` (src/cli/relay.ts, commands/relay.ts) and `keyserver --cors-origin`, from the build
// (dist/cli/main.js) on 127.0.0.1: the relay prints where pages connect, forwards datagrams byte for byte and its
// --json summary counts them; with --web it serves config.json and dist/, the key server answers the page's
// origin's preflight, a foreign origin's upgrade is refused, and SIGINT ends it with its summary; usage errors
// exit 2. Bounded: each process is killed after 20 s; < 20 s in all.
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { cli, freeUdpPort, lastJson } from "./helpers/processes.js";
import { cliSuite } from "./helpers/cli-suite.js";
import { KEYS_PATH } from "../src/mbms/http-protocol.js";
import type { RelayResult } from "../src/cli/relay.js";

const WEB_DIR = fileURLToPath(new URL("../web", import.meta.url));
const SERVICE = "urn:mbms:relay:1";
const { jsonFile } = cliSuite("mbms-relay-");
let bmscConfig = "";
beforeAll(() => {
  bmscConfig = jsonFile("bmsc.json", { services: [{ serviceId: SERVICE }], users: [{ userId: "ue-web", kek: randomBytes(16).toString("hex") }] });
});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function open(url: string, origin?: string): Promise<{ ws: WebSocket; messages: Buffer[] }> {
  const ws = new WebSocket(url, origin === undefined ? {} : { origin });
  const messages: Buffer[] = [];
  ws.on("message", (d: Buffer) => messages.push(d));
  ws.on("error", () => {});
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, messages }));
    ws.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function request(url: string, method = "GET", headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("mbms-srtp relay", () => {
  it("prints its addresses, forwards 500 datagrams byte for byte to two clients, and --json counts them", async () => {
    const port = await freeUdpPort();
    const p = cli(["relay", "--listen", `127.0.0.1:${port}`, "--duration", "3", "--json"], 20_000);
    const first = (await p.firstLine).line;
    const m = new RegExp(`^relay: udp 127\\.0\\.0\\.1:${port} -> (ws://127\\.0\\.0\\.1:\\d+/ws)$`).exec(first);
    expect(m, first).not.toBeNull();
    const [a, b] = [await open(m![1]!), await open(m![1]!)];
    const s = dgram.createSocket("udp4");
    const sent = Array.from({ length: 500 }, (_, i) => randomBytes(1 + ((i * 331) % 1400)));
    for (let i = 0; i < sent.length; i += 50) {
      for (const d of sent.slice(i, i + 50)) s.send(d, port, "127.0.0.1");
      await until(() => a.messages.length >= i + 50 && b.messages.length >= i + 50);
    }
    s.close();
    for (const c of [a, b]) expect(c.messages.every((d, i) => d.equals(sent[i]!))).toBe(true);
    const exit = await p.done;
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    const out = lastJson<RelayResult>(exit.stdout);
    expect(exit.stdout.trim().split("\n")).toHaveLength(2); // the first line and the JSON: no status lines
    expect(out).toMatchObject({
      udp: `127.0.0.1:${port}`, ws: m![1], interrupted: false, clients: 2, packetsIn: 500, bytesIn: sent.reduce((n, d) => n + d.length, 0),
      packetsOut: 1000, drops: 0, closedSlow: 0, refusedOrigin: 0, refusedFull: 0,
    });
  }, 25_000);

  it("--web with keyserver --cors-origin: config.json, dist/, the page's preflight, origins; SIGINT prints the summary", async () => {
    const [udpPort, httpPort, keyPort] = [await freeUdpPort(), await freeTcpPort(), await freeTcpPort()];
    const page = `http://127.0.0.1:${httpPort}`;
    const keyServer = `http://127.0.0.1:${keyPort}`;
    const ks = cli(["keyserver", "--config", bmscConfig, "--port", String(keyPort), "--cors-origin", `https://tv.example,${page}`, "--duration", "10"], 20_000);
    const relay = cli(["relay", "--listen", `127.0.0.1:${udpPort}`, "--http", `127.0.0.1:${httpPort}`, "--web", "--key-server", keyServer, "--service", SERVICE], 20_000);
    expect((await relay.firstLine).line).toBe(`relay: udp 127.0.0.1:${udpPort} -> ws://127.0.0.1:${httpPort}/ws (page ${page}/)`);
    expect((await ks.firstLine).line).toBe(`key server ${keyServer}`);

    const config = await request(`${page}/config.json`);
    expect(JSON.parse(config.body)).toEqual({ keyServer, serviceId: SERVICE });
    expect(config.headers["content-security-policy"]).toContain(`connect-src 'self' ws://127.0.0.1:${httpPort} ws://localhost:${httpPort} ${keyServer}`);
    const lib = await request(`${page}/dist/index.js`);
    expect([lib.status, lib.headers["content-type"]]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect((await request(`${page}/dist/../package.json`)).status).toBe(404);

    const preflight = await request(`${keyServer}${KEYS_PATH}`, "OPTIONS", { origin: page, "access-control-request-method": "POST" });
    expect([preflight.status, preflight.headers["access-control-allow-origin"]]).toEqual([204, page]);
    expect((await request(`${keyServer}${KEYS_PATH}`, "OPTIONS", { origin: "https://evil.example" })).status).toBe(403);

    const c = await open(`ws://127.0.0.1:${httpPort}/ws`, page);
    await expect(open(`ws://127.0.0.1:${httpPort}/ws`, "https://evil.example")).rejects.toThrow("HTTP 403");
    expect(await relay.line(/^relay {3}clients 1 .*refused origin 1 /)).toMatch(/refused origin 1 full 0/);
    c.ws.close();
    relay.child.kill("SIGINT");
    ks.child.kill("SIGINT");
    const [exit, ksExit] = [await relay.done, await ks.done];
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe(existsSync(WEB_DIR) ? "" : `mbms-srtp relay: no web page in ${WEB_DIR} yet: / answers 404\n`);
    expect(exit.stdout.trim().split("\n").at(-1)).toMatch(/^relay udp .* 0 datagrams in .* refused 1 \(origin\) 0 \(full\), .*\(interrupted\)$/);
    expect(ksExit.code).toBe(0);
    expect(ksExit.stdout).toMatch(/key server .*: 2 requests \(1 errors\)/); // the foreign preflight
  }, 25_000);

  it("usage errors exit 2: no --listen, a bad --origin, --key-server without --web, --cors-origin with a fixed SRTP key", async () => {
    const runs = [
      ["relay"], ["relay", "--listen", "127.0.0.1:9", "--origin", "ftp://tv.example"], ["relay", "--listen", "127.0.0.1:9", "--key-server", "http://127.0.0.1:1"],
      ["relay", "--listen", "127.0.0.1:9", "--group", "10.0.0.1"],
      ["send", "--dest", "127.0.0.1:9", "--rtp-in", "127.0.0.1:9", "--srtp-key-file", "/nonexistent", "--cors-origin", "http://127.0.0.1:1"],
    ];
    const exits = await Promise.all(runs.map((args) => cli(args, 20_000).done));
    for (const [i, e] of exits.entries()) {
      expect([runs[i]!.join(" "), e.code]).toEqual([runs[i]!.join(" "), 2]);
      expect(e.stderr).toMatch(/^mbms-srtp (relay|send): /);
    }
    expect(exits[1]!.stderr).toContain("--origin: not an http(s) origin");
    expect(exits[4]!.stderr).toContain("--cors-origin");
  }, 25_000);
});
