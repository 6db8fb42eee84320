/**
 * `mbms-srtp demo --browser`: the stream to watch in a web page. In this process: the BM-SC (in-memory
 * store, key server on 127.0.0.1 with CORS for the relay's page, SRTP sender of one service) and the relay
 * (`mbms-srtp relay --web`), with ffmpeg's testsrc2 as H.264 RTP when ffmpeg is installed (otherwise the
 * synthetic source: keys and stats, no picture). It prints one URL per demo user — ME and UICC — whose
 * fragment carries that throwaway user's KEK (a fragment never leaves the browser); open one and watch.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { toHex } from "../mbms/http-protocol.js";
import { freeTcpPort, freeUdpPort } from "../net/free-port.js";
import { startRelay, type Relay, type RelayStats } from "../net/relay-server.js";
import { runBmsc, type BmscResult } from "./bmsc.js";
import { packageWeb } from "./relay.js";
import { UsageError } from "./usage-error.js";
import { CLI_RECEIVER_TUNING } from "./udp-mbms-receiver.js";
import { encodeArgs, ffmpegAvailable, replayArgs } from "./test-video.js";
import type { SrtpProfileName } from "../srtp/profiles.js";
import type { TekDerivation } from "../mbms/key-hierarchy.js";

export interface BrowserDemoOptions {
  bitrate: number;
  durationS: number;
  tekPeriodMs: number;
  tgkLifetimeMs: number;
  profile?: SrtpProfileName;
  derivation?: TekDerivation;
  /** Where the relay serves the page (default 127.0.0.1, any free port). */
  http: { host: string; port: number };
  /** Without ffmpeg or with `synthetic`: the synthetic RTP source. */
  synthetic: boolean;
  /** An H.264 file ffmpeg replays (looped, not re-encoded) instead of encoding testsrc2 live. */
  video?: string;
  json: boolean;
  out: NodeJS.WriteStream;
  signal?: AbortSignal;
}

export interface BrowserDemoResult {
  ok: boolean;
  failures: string[];
  source: "ffmpeg" | "synthetic";
  pages: { mode: "ME" | "UICC"; userId: string; url: string }[];
  bmsc: BmscResult;
  relay: RelayStats;
}

const SERVICE = "urn:mbms:demo:browser";

export async function runBrowserDemo(o: BrowserDemoOptions): Promise<BrowserDemoResult> {
  const users = (["ME", "UICC"] as const).map((mode) => ({
    mode, userId: `sip:ue-${mode.toLowerCase()}@demo.invalid`, kek: globalThis.crypto.getRandomValues(new Uint8Array(16)),
  }));
  const keyHost = "127.0.0.1";
  const keyPort = await freeTcpPort(keyHost);
  const keyServer = `http://${keyHost}:${keyPort}`;
  const source = o.synthetic || !ffmpegAvailable() ? "synthetic" : "ffmpeg";
  if (o.video && source === "synthetic") throw new UsageError("--video needs ffmpeg (with libx264) and no --synthetic");
  let relay: Relay | undefined;
  let ffmpeg: ChildProcess | undefined;
  try {
    relay = await startRelay({
      udp: { host: "127.0.0.1", port: 0 }, http: o.http,
      web: packageWeb({ keyServer, serviceId: SERVICE, rotationPeriodMs: o.tekPeriodMs, ...CLI_RECEIVER_TUNING }),
    });
    const pages = users.map((u) => ({
      mode: u.mode, userId: u.userId,
      url: `${relay!.httpUrl}#${new URLSearchParams({ user: u.userId, kek: toHex(u.kek), mode: u.mode, autostart: "1" })}`,
    }));
    o.out.write(`relay ${relay.wsUrl} (SRTP in on udp 127.0.0.1:${relay.udp.port}), key server ${keyServer}, ${source} video\n`);
    for (const p of pages) o.out.write(`open (${p.mode}): ${p.url}\n`);
    const rtpInPort = source === "ffmpeg" ? await freeUdpPort() : undefined;
    const bmsc = runBmsc({
      config: {
        services: [{ serviceId: SERVICE, ...(o.profile ? { profile: o.profile } : {}), tgkLifetimeMs: o.tgkLifetimeMs, tekRand2PeriodMs: o.tekPeriodMs }],
        users: users.map((u) => ({ userId: u.userId, kek: u.kek })),
      },
      ...(o.derivation ? { derivation: o.derivation } : {}),
      keyPort, keyHost, corsOrigins: relay.allowedOrigins,
      send: {
        host: "127.0.0.1", port: relay.udp.port, serviceId: SERVICE, bitrate: o.bitrate, payloadSize: 1200, multicastTtl: 1,
        multicastInterface: "127.0.0.1", ...(rtpInPort ? { rtpIn: { host: "127.0.0.1", port: rtpInPort }, idleTimeoutMs: 5000 } : {}),
      },
      durationS: o.durationS, json: o.json, out: o.out, ...(o.signal ? { signal: o.signal } : {}),
    });
    if (rtpInPort) {
      const url = `rtp://127.0.0.1:${rtpInPort}?pkt_size=1200`;
      const video = { size: "1280x720", bitrate: `${Math.round(o.bitrate / 1e3)}k`, keyint: 25 };
      ffmpeg = spawn("ffmpeg", o.video ? replayArgs(o.video, url) : encodeArgs(video, [], [url]), { stdio: "ignore" });
    }
    const result = await bmsc;
    // The last datagrams may still wait in the relay's socket: read until it has had nothing new for 100 ms
    // (a count alone is not enough: datagrams from another source, a test's forged ones, make it up early).
    const sent = result.sender?.packets ?? 0;
    await untilQuiet(() => relay!.stats().packetsIn, 100, 1000);
    const stats = relay.stats();
    const failures = [...result.failures];
    if (stats.packetsIn !== sent) failures.push(`the relay received ${stats.packetsIn} of ${sent} packets`);
    if (stats.drops > 0) failures.push(`the relay dropped ${stats.drops} packets for slow pages`);
    return { ok: failures.length === 0, failures, source, pages, bmsc: result, relay: stats };
  } finally {
    ffmpeg?.kill("SIGKILL");
    for (const u of users) u.kek.fill(0);
    await relay?.close();
  }
}

/** Waits until `count()` has not changed for `quietMs` (at most `maxMs` in all). */
async function untilQuiet(count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  let seen = count();
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    const now = count();
    if (now !== seen) [seen, since] = [now, Date.now()];
  }
}

export function browserDemoSummary(r: BrowserDemoResult): string {
  const s = r.bmsc.sender;
  return [
    `mbms-srtp demo --browser: ${r.bmsc.durationS.toFixed(1)} s, ${r.source} video; sender ${s?.packets ?? 0} packets, ${s?.tekSwitches ?? 0} TEK switches`,
    `relay: ${r.relay.packetsIn} packets in, ${r.relay.packetsOut} sent to pages, ${r.relay.drops} dropped, ${r.relay.closedSlow} slow pages closed`,
    r.ok ? "OK: the sender switched TEK on schedule and the relay forwarded every packet" : `FAILED: ${r.failures.join("; ")}`,
  ].join("\n");
}
