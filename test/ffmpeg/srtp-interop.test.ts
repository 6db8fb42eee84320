// Interop with ffmpeg's own SRTP (libavformat/srtp.c: one key, no MKI, SDES inline: parameters), both ways:
//   (a) ffmpeg RTP → `send --rtp-in --srtp-key-file --sdp-in --sdp-out` → SRTP → ffmpeg reading out.sdp
//       (a=crypto) → Matroska: ffprobe counts every frame;
//   (b) ffmpeg -srtp_out_suite … srtp:// → `receive --srtp-key-file --rtp-out` → plain RTP → ffmpeg reading
//       a plain SDP → Matroska: every frame, no loss, no authentication failure (_80 and _32);
//   (c) the same with a wrong key: every packet fails authentication, nothing is delivered;
//   and the key-file usage errors (exit 2, key bytes never echoed).
// The recorders end by themselves (-listen_timeout: ffmpeg's SDP reader gives up after that much silence,
// and a single SIGINT does not interrupt its wait). FAILS, never skips, without ffmpeg/ffprobe. Bounded:
// < 60 s; every child is killed in afterAll. Only 127.0.0.1.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, encodeArgs, encoderSdp, freePortPair, killChildren, lastJson, probe, receiverSummary, recordArgs, requireTools, start, withPort, type TestVideo } from "./helpers.js";

const VIDEO: TestVideo = { size: "1280x720", bitrate: "8M" };
const FRAMES = 75; // 3 s at 25 fps
const KEY = randomBytes(30).toString("base64"); // 16-byte master key ‖ 14-byte salt
const WRONG_KEY = randomBytes(30).toString("base64");
/** The recorders stop after this much silence (s). */
const IDLE_S = "3";
let dir = "";
let plainSdp = "";

const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rtpUrl = (port: number) => `rtp://127.0.0.1:${port}?pkt_size=1200`;

beforeAll(async () => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), "mbms-srtp-interop-"));
  plainSdp = await encoderSdp(VIDEO, join(dir, "in.sdp"));
  expect(plainSdp).toMatch(/^m=video \d+ RTP\/AVP 96/m);
});

afterAll(() => {
  killChildren();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("interop with ffmpeg's SRTP (no MKI)", () => {
  it("(a) our sender → ffmpeg's SRTP receiver (SDP with a=crypto): every frame", async () => {
    const [inPort, srtpPort] = [await freePortPair(), await freePortPair()];
    const keyFile = file("a.key", `${KEY}\n`);
    const outSdp = join(dir, "a-out.sdp");
    const mkv = join(dir, "a.mkv");
    const send = start(process.execPath, [MAIN, "send", "--rtp-in", `127.0.0.1:${inPort}`, "--srtp-key-file", keyFile,
      "--sdp-in", join(dir, "in.sdp"), "--sdp-out", outSdp, "--dest", `127.0.0.1:${srtpPort}`, "--idle-timeout", "1500", "--duration", "30", "--json"], 40_000);
    expect(await send.line(/^sending to /)).toBe(`sending to 127.0.0.1:${srtpPort} (fixed SRTP key, AES_CM_128_HMAC_SHA1_80, no MKI)`);
    expect(statSync(outSdp).mode & 0o777).toBe(0o600);
    const sdp = readFileSync(outSdp, "utf8");
    expect(sdp).toMatch(new RegExp(`^m=video ${srtpPort} RTP/SAVP 96\\r?$`, "m"));
    expect(sdp).toContain(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);

    const sink = start("ffmpeg", recordArgs(outSdp, mkv, ["-listen_timeout", IDLE_S]), 40_000);
    await sleep(1000); // let it open its ports
    const src = await start("ffmpeg", ["-y", ...encodeArgs(VIDEO, ["-t", "3"], [rtpUrl(inPort)])], 20_000).done;
    expect(src.code, src.stderr).toBe(0);

    const sendRun = await send.done;
    expect(sendRun.code, sendRun.stderr).toBe(0);
    expect(sendRun.stdout + sendRun.stderr).not.toContain(KEY);
    const sr = lastJson<{ keyServer?: unknown; sender: { packets: number; rtpIn: { received: number; invalid: number; idleStop: boolean } } }>(sendRun.stdout);
    expect(sr.keyServer).toBeUndefined();
    expect(sr.sender.rtpIn.idleStop).toBe(true);
    expect(sr.sender.rtpIn.invalid).toBe(0);
    expect(sr.sender.packets).toBe(sr.sender.rtpIn.received);

    const sinkRun = await sink.done;
    expect(sinkRun.code, sinkRun.stderr).toBe(0);
    const p = probe(mkv);
    console.log(`(a) ffmpeg decrypted our SRTP: ${p.codec} ${p.width}x${p.height}, ${p.frames}/${FRAMES} frames; ${sr.sender.packets} SRTP packets`);
    expect([p.codec, p.width, p.height, p.frames]).toEqual(["h264", 1280, 720, FRAMES]);
  }, 30_000);

  // The key file in two of the accepted forms: bare base64 with --srtp-profile, and an a=crypto line.
  for (const [suite, keyText, profileArgs] of [
    ["AES_CM_128_HMAC_SHA1_80", `${KEY}\n`, ["--srtp-profile", "AES_CM_128_HMAC_SHA1_80"]],
    ["AES_CM_128_HMAC_SHA1_32", `a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:${KEY}\n`, []],
  ] as const) {
    it(`(b) ffmpeg's SRTP sender (${suite}) → our receiver: every frame, no auth failure`, async () => {
      const [srtpPort, outPort] = [await freePortPair(), await freePortPair()];
      const tag = suite.slice(-2);
      const keyFile = file(`b${tag}.key`, keyText);
      const outSdp = file(`b${tag}.sdp`, withPort(plainSdp, outPort));
      const mkv = join(dir, `b${tag}.mkv`);
      const recv = start(process.execPath, [MAIN, "receive", "--port", String(srtpPort), "--srtp-key-file", keyFile, ...profileArgs,
        "--rtp-out", `127.0.0.1:${outPort}`, "--duration", "30"], 40_000);
      expect(await recv.line(/^receiving on /)).toBe(`receiving on 127.0.0.1:${srtpPort} (SDES)`);
      const sink = start("ffmpeg", recordArgs(outSdp, mkv, ["-listen_timeout", IDLE_S]), 40_000);
      await sleep(1000);
      // -sdp_file: without it ffmpeg prints its SDP, a=crypto with the key included, to stdout.
      const src = await start("ffmpeg", ["-y", ...encodeArgs(VIDEO, ["-t", "3"], ["-srtp_out_suite", suite, "-srtp_out_params", KEY,
        `srtp://127.0.0.1:${srtpPort}?pkt_size=1200`, "-sdp_file", join(dir, `b${tag}-ffmpeg.sdp`)])], 20_000).done;
      expect(src.code, src.stderr).toBe(0);

      const sinkRun = await sink.done;
      expect(sinkRun.code, sinkRun.stderr).toBe(0);
      recv.child.kill("SIGINT");
      const recvRun = await recv.done;
      const r = receiverSummary(recvRun.stdout);
      expect(recvRun.code, r.text).toBe(0);
      expect(recvRun.stdout + recvRun.stderr).not.toContain(KEY);
      expect(r.lost).toBe(0);
      expect(r.authFailed).toBe(0);
      const p = probe(mkv);
      console.log(`(b) we decrypted ffmpeg's ${suite}: ${r.delivered} RTP packets; ffmpeg recorded ${p.codec} ${p.width}x${p.height}, ${p.frames}/${FRAMES} frames`);
      expect([p.codec, p.width, p.height, p.frames]).toEqual(["h264", 1280, 720, FRAMES]);
    }, 30_000);
  }

  it("(c) a wrong key: every packet fails authentication, none is delivered", async () => {
    const srtpPort = await freePortPair();
    const recv = start(process.execPath, [MAIN, "receive", "--port", String(srtpPort), "--srtp-key-file", file("c.key", WRONG_KEY), "--duration", "30"], 20_000);
    expect(await recv.line(/^receiving on /)).not.toBe("");
    const src = await start("ffmpeg", ["-y", ...encodeArgs(VIDEO, ["-t", "1"], ["-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80",
      "-srtp_out_params", KEY, `srtp://127.0.0.1:${srtpPort}?pkt_size=1200`, "-sdp_file", join(dir, "c-ffmpeg.sdp")])], 20_000).done;
    expect(src.code, src.stderr).toBe(0);
    await sleep(300);
    recv.child.kill("SIGINT");
    const recvRun = await recv.done;
    const r = receiverSummary(recvRun.stdout);
    expect(recvRun.code, r.text).toBe(1);
    expect(r.delivered).toBe(0);
    expect(r.authFailed).toBeGreaterThan(25); // at least one packet per frame
    for (const k of [KEY, WRONG_KEY]) expect(recvRun.stdout + recvRun.stderr).not.toContain(k);
  }, 20_000);

  it("bad key files and conflicting options are usage errors (exit 2) that never show the key", async () => {
    const cases: [string[], RegExp][] = [
      [["receive", "--port", "1", "--srtp-key-file", file("short.key", KEY.slice(0, 36))], /expected 30 bytes .*got 27/],
      [["receive", "--port", "1", "--srtp-key-file", file("notb64.key", `${KEY.slice(0, 39)}!`)], /not base64/],
      [["receive", "--port", "1", "--srtp-key-file", file("mki.key", `inline:${KEY}|2^20|1:4`)], /lifetime or MKI/],
      [["receive", "--port", "1", "--srtp-key-file", file("suite.key", `a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:${KEY}`),
        "--srtp-profile", "AES_CM_128_HMAC_SHA1_80"], /for AES_CM_128_HMAC_SHA1_32, not AES_CM_128_HMAC_SHA1_80/],
      [["receive", "--port", "1", "--srtp-key-file", file("ok.key", KEY), "--key-server", "http://127.0.0.1:1"], /conflicts with --key-server/],
      [["send", "--dest", "127.0.0.1:1", "--rtp-in", "127.0.0.1:2", "--srtp-key-file", file("ok.key", KEY), "--config", file("x.json", "{}")], /conflicts with --config/],
      [["send", "--dest", "127.0.0.1:1", "--rtp-in", "127.0.0.1:2", "--srtp-key-file", file("ok.key", KEY), "--sdp-out", join(dir, "x.sdp")], /--sdp-in and --sdp-out go together/],
      // The synthetic source's SSRC and sequence numbers repeat on every run: a fixed key would repeat its keystream.
      [["send", "--dest", "127.0.0.1:1", "--srtp-key-file", file("ok.key", KEY)], /needs --rtp-in/],
    ];
    for (const [args, re] of cases) {
      const r = await start(process.execPath, [MAIN, ...args], 10_000).done;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      for (const k of [KEY, KEY.slice(0, 36), KEY.slice(4, 24)]) expect(r.stdout + r.stderr).not.toContain(k);
    }
  }, 20_000);
});
