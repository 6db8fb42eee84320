// The browser receiver under a sustained stream (issue 12's bars): `demo --browser` at --bitrate (default
// 100M) of ffmpeg's 1280x720 H.264, one page per keying mode in headless Chromium, in turn. Per page, over
// the window after its first key switch: the decrypted bitrate the page sustained, frames decoded of the
// frames sent, packets lost, the worker's CPU per packet (SRTP; depacketizing + decoder submission), and
// the key-switch latency (first packet under a new MKI → its first decrypted packet): median and max.
// The video is encoded once beforehand (10 s, looped by ffmpeg with -c copy), so no live x264 encode takes
// the CPU the page and the relay need on a small machine.
//   npm run build && node bench/browser-stream.mjs [--bitrate 100M] [--seconds 15]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { launchChromium } from "../scripts/chromium.mjs";
import { writeResults } from "./harness.mjs";

const { values } = parseArgs({ options: { bitrate: { type: "string", default: "100M" }, seconds: { type: "string", default: "15" } } });
const seconds = Number(values.seconds);
const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), "mbms-browser-stream-"));
const video = join(dir, "testsrc2.h264");
const rate = values.bitrate;
execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "10",
  "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", "2M",
  "-x264-params", "nal-hrd=cbr", "-g", "25", "-an", "-f", "h264", video]);

async function runMode(mode) {
  const demo = spawn(process.execPath, [MAIN, "demo", "--browser", "--video", video, "--duration", String(seconds + 15), "--json"], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  const url = await new Promise((resolve, reject) => {
    demo.once("exit", () => reject(new Error("demo --browser ended before printing its URLs")));
    demo.stdout.on("data", (d) => {
      text += d;
      const m = new RegExp(`^open \\(${mode}\\): (\\S+)`, "m").exec(text);
      if (m) resolve(m[1]);
    });
  });
  const exited = new Promise((resolve) => demo.on("exit", resolve));
  const { context, close } = await launchChromium();
  let result;
  try {
    const page = await context.newPage();
    await page.goto(url);
    const stats = () => page.evaluate(() => globalThis.mbms?.stats);
    for (let s; !((s = await stats())?.keySwitches >= 1);) await sleep(200);
    const start = await stats();
    const t0 = Date.now();
    await sleep(seconds * 1000);
    const end = await stats();
    const ms = Date.now() - t0;
    const packets = end.delivered - start.delivered;
    result = {
      mode, seconds: ms / 1000, mbps: ((end.bytes - start.bytes) * 8) / 1e3 / ms, packetsPerSecond: (packets * 1e3) / ms,
      framesDecoded: end.framesDecoded - start.framesDecoded, framesSpanned: end.framesSpanned - start.framesSpanned,
      lost: end.lost - start.lost, authFailures: end.authFailures, decryptUsPerPacket: end.decryptUsPerPacket, mediaUsPerPacket: end.mediaUsPerPacket,
      keySwitches: end.keySwitches - start.keySwitches, switchMedianMs: end.switchLatency.medianMs, switchMaxMs: end.switchLatency.maxMs, size: `${end.width}x${end.height}`,
    };
  } finally {
    await close();
    demo.kill("SIGINT");
  }
  await exited;
  // The relay's side (demo --json's last line): what it received and what it dropped for a page behind.
  const relay = JSON.parse(text.trim().split("\n").at(-1)).relay;
  return { ...result, relayIn: relay.packetsIn, relayDrops: relay.drops, relayClosedSlow: relay.closedSlow };
}

const results = [];
try {
  for (const mode of ["ME", "UICC"]) results.push(await runMode(mode));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`browser receiver, ${values.bitrate} bit/s of 1280x720 H.264 from the relay, ${seconds} s per mode (Chromium headless):`);
for (const r of results) {
  console.log(`${r.mode.padEnd(4)} ${r.mbps.toFixed(1)} Mbit/s sustained (${Math.round(r.packetsPerSecond)} pkt/s), ${r.framesDecoded}/${r.framesSpanned} frames, ` +
    `${r.lost} lost, ${r.authFailures} auth failures; worker CPU/packet SRTP ${r.decryptUsPerPacket.toFixed(2)} µs, media ${r.mediaUsPerPacket.toFixed(2)} µs; ` +
    `${r.keySwitches} key switches, latency median ${r.switchMedianMs.toFixed(1)} ms, max ${r.switchMaxMs.toFixed(1)} ms; ` +
    `relay: ${r.relayIn} packets in, ${r.relayDrops} dropped for the page`);
}
writeResults("browser-stream", results.map((r) => ({ bitrate: values.bitrate, ...r })));
