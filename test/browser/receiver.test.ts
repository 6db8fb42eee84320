// The browser receiver end to end (issue 12): `mbms-srtp demo --browser` — ffmpeg testsrc2 1280x720 H.264
// at 8 Mbit/s → the BM-SC's SRTP sender (TEK_RAND2 every second, TGK every 5 s) → the relay on 127.0.0.1 →
// headless Chromium, one page keyed ME-based and one UICC-based (the web card in its own worker), both at
// once. Each page keys itself over fetch (CORS), decrypts in WASM in its worker, decodes with WebCodecs and
// paints. Then a forged-MKI flood injected at the relay while a page plays. Needs ffmpeg and Chromium.
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { BrowserReceiverStats } from "../../src/browser/protocol.js";
import type { BrowserDemoResult } from "../../src/cli/browser-demo.js";
import { cli, killChildren, lastJson, type Proc } from "../helpers/processes.js";
import { decodePng, lumaStdDev } from "../helpers/png.js";
import { requireTools } from "../ffmpeg/helpers.js";
import { CHROMIUM_PATH, launchChromium } from "./chromium.js";

let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  requireTools();
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian 'chromium'`);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  killChildren();
  await browser?.close();
});

interface Demo {
  proc: Proc;
  urls: Record<"ME" | "UICC", string>;
  srtpPort: number;
}

async function startDemo(seconds: number): Promise<Demo> {
  const proc = cli(["demo", "--browser", "--duration", String(seconds), "--bitrate", "8M", "--tek-period", "1000", "--tgk-lifetime", "5000", "--json"], (seconds + 60) * 1000);
  const first = await proc.line(/^relay /);
  const me = await proc.line(/^open \(ME\): /);
  const uicc = await proc.line(/^open \(UICC\): /);
  expect(first).toMatch(/ffmpeg video/);
  return {
    proc, srtpPort: Number(/udp 127\.0\.0\.1:(\d+)/.exec(first)![1]),
    urls: { ME: me.replace(/^open \(ME\): /, ""), UICC: uicc.replace(/^open \(UICC\): /, "") },
  };
}

const statsOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { mbms: { stats?: BrowserReceiverStats } }).mbms.stats);
const stateOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { mbms: { state: string } }).mbms.state);

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function openPage(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await until("the page to play", 20_000, async () => (await stateOf(page)) === "playing" || errors.length > 0);
  expect(errors).toEqual([]);
  return page;
}

function checkPlayback(s: BrowserReceiverStats, minSwitches: number): void {
  expect(s.keySwitches).toBeGreaterThanOrEqual(minSwitches);
  expect(s.unscheduledRekeys).toBe(0);
  expect(s.width).toBe(1280);
  expect(s.height).toBe(720);
  expect(s.framesSpanned).toBeGreaterThan(100);
  expect(s.framesDecoded).toBeGreaterThanOrEqual(0.98 * s.framesSpanned);
  expect(s.pixelStdDev).toBeGreaterThan(10); // the test pattern, not a uniform picture
}

describe("the browser receiver in Chromium", () => {
  it("plays the ffmpeg stream keyed ME-based and UICC-based at once: every frame decoded, key switches, stats as the relay's", async () => {
    const demo = await startDemo(30);
    const pages = { ME: await openPage(demo.urls.ME), UICC: await openPage(demo.urls.UICC) };
    await until("5 key switches in both pages", 40_000, async () =>
      (await Promise.all(Object.values(pages).map(statsOf))).every((s) => (s?.keySwitches ?? 0) >= 5));
    for (const page of Object.values(pages)) {
      const png = await page.locator("#video").screenshot();
      expect(lumaStdDev(decodePng(png))).toBeGreaterThan(10);
    }
    const exit = await demo.proc.done;
    const result = lastJson<BrowserDemoResult>(exit.stdout);
    expect(result.ok).toBe(true);
    expect(result.failures).toEqual([]);
    await Promise.all(Object.values(pages).map((p) => until("the page to see the stream end", 10_000, async () => (await stateOf(p)) === "stopped")));
    const final = { ME: (await statsOf(pages.ME))!, UICC: (await statsOf(pages.UICC))! };
    for (const [mode, s] of Object.entries(final)) {
      console.log(`${mode}: ${s.framesDecoded}/${s.framesSpanned} frames, ${s.delivered}/${s.packets} packets, ${s.keySwitches} switches ` +
        `(median ${s.switchLatency.medianMs.toFixed(1)} ms, max ${s.switchLatency.maxMs.toFixed(1)} ms), ${s.rekeys} key messages, ` +
        `SRTP ${s.decryptUsPerPacket.toFixed(2)} µs/packet, media ${s.mediaUsPerPacket.toFixed(2)} µs/packet`);
      checkPlayback(s, 5);
      expect(s.authFailures).toBe(0);
      expect(s.lost).toBe(0);
      expect(s.delivered).toBe(s.packets);
      expect(s.rekeys).toBeGreaterThanOrEqual(3); // TGK every 5 s: the page re-keyed on its own
    }
    // The relay closed both pages at the end, after sending them everything: the counts agree exactly.
    expect(result.relay.drops).toBe(0);
    expect(final.ME.packets + final.UICC.packets).toBe(result.relay.packetsOut);
    await Promise.all(Object.values(pages).map((p) => p.close()));
  }, 120_000);

  it("keeps playing through a flood of forged MKIs injected at the relay: no key request, no lost frame", async () => {
    const demo = await startDemo(20);
    const page = await openPage(demo.urls.ME);
    const sock = dgram.createSocket("udp4");
    let forged = 0;
    // Half the forged MKIs name the TGK in force (each costs the page a TEK derivation and a probation key
    // until the rate limit and the negative cache stop them), half a random TGK-ID (refused at once).
    await until("the first decrypted packet", 10_000, async () => (await statsOf(page))?.currentMki !== undefined);
    const tgkId = Buffer.from((await statsOf(page))!.currentMki!.slice(0, 8), "hex");
    // 1,000 forged packets/s (RTP header, MKI, random tag): the rate of the real stream.
    const flood = setInterval(() => {
      for (let i = 0; i < 50; i++) {
        const p = randomBytes(1200);
        p[0] = 0x80;
        p[1] = 96;
        if (i % 2 === 0) tgkId.copy(p, 1200 - 10 - 12);
        sock.send(p, demo.srtpPort, "127.0.0.1");
        forged++;
      }
    }, 50);
    let maxKeys = 0;
    await until("10 s of play", 30_000, async () => {
      const now = (await statsOf(page))!;
      maxKeys = Math.max(maxKeys, now.installedKeys);
      return now.seconds >= 10;
    });
    clearInterval(flood);
    const exit = await demo.proc.done;
    sock.close();
    const result = lastJson<BrowserDemoResult>(exit.stdout);
    await until("the page to see the stream end", 10_000, async () => (await stateOf(page)) === "stopped");
    const s = (await statsOf(page))!;
    console.log(`flood: ${forged} forged packets; page ${s.framesDecoded}/${s.framesSpanned} frames, ${s.authFailures} failed their tag, ${s.untrusted} dropped as untrusted, ${s.forgedKeys} forged keys, at most ${maxKeys} keys installed`);
    checkPlayback(s, 3);
    // The flood began once the page played: it got every forged packet, and decrypted every other one.
    expect(result.relay.packetsIn).toBe(result.bmsc.sender!.packets + forged);
    expect(s.packets).toBe(result.relay.packetsOut);
    expect(s.delivered).toBe(s.packets - forged);
    expect(s.forgedKeys).toBeGreaterThan(0); // the flood did reach the evaluator's derivations
    expect(maxKeys).toBeLessThanOrEqual(6);
    await page.close();
  }, 90_000);
});
