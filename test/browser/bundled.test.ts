// The receiver page bundled (esbuild: the page and its two workers, one file each) instead of the native
// ESM the relay serves from dist/, and keyed the way an operator runs the parts: `mbms-srtp send --config
// --rtp-in --cors-origin` (key server + SRTP sender of ffmpeg's RTP), the relay (here in-process, to serve
// the bundle), Chromium. The page must key itself, switch keys and decode frames.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelay, type Relay } from "../../src/net/relay-server.js";
import type { BrowserReceiverStats } from "../../src/browser/protocol.js";
import { cli, freeTcpPort, killChildren, start } from "../helpers/processes.js";
import { encodeArgs, freePortPair, requireTools } from "../ffmpeg/helpers.js";
import { launchChromium } from "./chromium.js";

const root = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "mbms-bundle-"));
let browser: Awaited<ReturnType<typeof launchChromium>>;
let relay: Relay | undefined;

beforeAll(async () => {
  requireTools();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  killChildren();
  await relay?.close();
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the receiver page, bundled with esbuild", () => {
  it("keys itself through `send --cors-origin`, plays the ffmpeg stream from the relay and switches keys", async () => {
    // page.js, receiver-worker.js and card-web-worker.js side by side: each worker URL is resolved next to
    // the module that starts it (new URL("./…", import.meta.url)), which is the page's bundle here.
    const entries = ["src/browser/page.ts", "src/browser/receiver-worker.ts", "src/mbms/uicc/card-web-worker.ts"].map((f) => join(root, f));
    const bundled = await build({ entryPoints: entries, bundle: true, format: "esm", platform: "browser", outdir: join(dir, "browser"), entryNames: "[name]", logLevel: "silent", metafile: true });
    expect(bundled.errors).toEqual([]);
    expect(Object.keys(bundled.metafile.outputs).filter((f) => f.endsWith(".js")).length).toBe(3);

    const keyPort = await freeTcpPort();
    const keyServer = `http://127.0.0.1:${keyPort}`;
    const serviceId = "urn:mbms:bundle:1";
    const user = { userId: "sip:ue@bundle.invalid", kek: "00112233445566778899aabbccddeeff" };
    relay = await startRelay({
      udp: { host: "127.0.0.1", port: 0 },
      web: { mounts: [{ prefix: "/", dir: join(root, "web") }, { prefix: "/dist/", dir }], config: { keyServer, serviceId, rotationPeriodMs: 1000 } },
    });
    const config = join(dir, "bmsc.json");
    writeFileSync(config, JSON.stringify({ services: [{ serviceId, tekRand2PeriodMs: 1000, tgkLifetimeMs: 5000 }], users: [user] }));
    const rtpIn = await freePortPair();
    const send = cli(["send", "--config", config, "--dest", `127.0.0.1:${relay.udp.port}`, "--rtp-in", `127.0.0.1:${rtpIn}`, "--key-port", String(keyPort),
      "--cors-origin", relay.allowedOrigins.join(","), "--duration", "25", "--json"], 60_000);
    expect(await send.line(/^key server /)).toBe(`key server ${keyServer}`);
    start("ffmpeg", encodeArgs({ size: "640x360", bitrate: "2M", keyint: 25 }, ["-t", "25"], [`rtp://127.0.0.1:${rtpIn}?pkt_size=1200`]), 60_000);

    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${relay.httpUrl}#${new URLSearchParams({ user: user.userId, kek: user.kek, mode: "ME", autostart: "1" })}`);
    const stats = () => page.evaluate(() => (globalThis as unknown as { mbms: { stats?: BrowserReceiverStats } }).mbms.stats);
    const end = Date.now() + 30_000;
    let s: BrowserReceiverStats | undefined;
    while (((s = await stats())?.keySwitches ?? 0) < 3 || s!.framesDecoded < 50) {
      if (Date.now() > end || errors.length > 0) throw new Error(`no playback: ${JSON.stringify({ errors, s })}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(s!.authFailures).toBe(0);
    expect([s!.width, s!.height]).toEqual([640, 360]);
    expect(s!.framesDecoded).toBeGreaterThanOrEqual(0.98 * s!.framesSpanned - 2); // frames still in the decoder
    // The page's scripts came from the bundle, not from dist/.
    const scripts = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname).filter((p) => p.endsWith(".js")));
    expect(scripts.sort()).toEqual(["/dist/browser/page.js", "/dist/browser/receiver-worker.js"].sort());
    await page.close();
    send.child.kill("SIGINT");
  }, 90_000);
});
