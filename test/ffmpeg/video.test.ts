// Real video end to end: ffmpeg encodes 4 s of 1080p25 H.264 at 20 Mbit/s CBR and sends it as RTP to
// `mbms-srtp send --rtp-in` (the BM-SC protects each datagram as it arrives, SSRC/SEQ kept) → SRTP over UDP
// on 127.0.0.1 → `mbms-srtp receive --rtp-out` (ME mode: keys itself over HTTP, decrypts, forwards plain
// RTP) → a second ffmpeg that reads the SDP (in.sdp with the port replaced) and copies into Matroska →
// ffprobe counts the frames: all 100 must arrive.
//
// Order: the sender (key server) first, then the receiver (keyed before it prints "receiving on"), then
// the output ffmpeg, and the input ffmpeg last, so no packet of the first (IDR) frame is sent before the
// receiver is keyed. FAILS, never skips, without ffmpeg/ffprobe. Bounded: < 60 s; every child is killed in
// afterAll.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, encodeArgs, encoderSdp, freePortPair, killChildren, lastJson, probe, receiverSummary, recordArgs, requireTools, start, withPort, type TestVideo } from "./helpers.js";

const SERVICE = "urn:mbms:video:1";
const USER = "sip:ue-me@video.invalid";
const KEK = randomBytes(16).toString("hex");
const FRAMES = 100; // 4 s at 25 fps
const VIDEO: TestVideo = { size: "1920x1080", bitrate: "20M" };
let dir = "";

beforeAll(() => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), "mbms-ffmpeg-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: 1000, tgkLifetimeMs: 60_000 }],
    users: [{ userId: USER, kek: KEK }],
  }));
});

afterAll(() => {
  killChildren();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("real video: ffmpeg RTP → send --rtp-in → SRTP → receive --rtp-out → ffmpeg", () => {
  it("delivers every H.264 frame of 4 s of 1080p25 at 20 Mbit/s", async () => {
    const [inPort, srtpPort, outPort] = [await freePortPair(), await freePortPair(), await freePortPair()];
    const inSdp = join(dir, "in.sdp");
    const outSdp = join(dir, "out.sdp");
    const outMkv = join(dir, "out.mkv");

    // 1. The BM-SC: key server + SRTP sender reading RTP on inPort.
    const send = start(process.execPath, [MAIN, "send", "--config", join(dir, "config.json"), "--service", SERVICE,
      "--rtp-in", `127.0.0.1:${inPort}`, "--dest", `127.0.0.1:${srtpPort}`, "--idle-timeout", "2000", "--duration", "40", "--json"], 50_000);
    const keyLine = await send.line(/^key server /);
    expect(keyLine).toMatch(/^key server http:\/\/127\.0\.0\.1:\d+$/);
    const keyServer = keyLine.slice("key server ".length);

    // 2. The UE (ME mode), forwarding plain RTP to outPort; "receiving on" once it is keyed.
    const recv = start(process.execPath, [MAIN, "receive", "--port", String(srtpPort), "--key-server", keyServer, "--user", USER,
      "--kek", KEK, "--mode", "me", "--service", SERVICE, "--tek-period", "1000", "--rtp-out", `127.0.0.1:${outPort}`,
      "--duration", "14"], 50_000);
    expect(await recv.line(/^receiving on /)).toBe(`receiving on 127.0.0.1:${srtpPort} (ME)`);

    // 3. The SDP (encoderSdp: same SPS/PPS, payload type 96); out.sdp is that with the port replaced by outPort.
    const sdp = await encoderSdp(VIDEO, inSdp);
    expect(sdp).toMatch(/^m=video \d+ RTP\/AVP 96/m);
    writeFileSync(outSdp, withPort(sdp, outPort));

    // 4. The output ffmpeg: reads the SDP, copies the H.264 into Matroska.
    const sink = start("ffmpeg", recordArgs(outSdp, outMkv), 50_000);
    await new Promise((r) => setTimeout(r, 1000)); // let it open its ports

    // 5. The input ffmpeg: 4 s of video, real time, to the sender's RTP input.
    const t0 = Date.now();
    const src = start("ffmpeg", ["-y", ...encodeArgs(VIDEO, ["-t", "4"], [`rtp://127.0.0.1:${inPort}?pkt_size=1200`, "-sdp_file", inSdp])], 30_000);
    const srcRun = await src.done;
    expect(srcRun.code, srcRun.stderr).toBe(0);
    const encodeS = (Date.now() - t0) / 1000;

    // The sender stops 2 s after the input went silent; the receiver then runs to its --duration.
    const sendRun = await send.done;
    expect(sendRun.code, sendRun.stderr).toBe(0);
    const sr = lastJson<{ sender: { packets: number; bytes: number; mbps: number; rtpIn: { received: number; droppedUnkeyed: number; invalid: number; idleStop: boolean } } }>(sendRun.stdout);
    expect(sr.sender.rtpIn.idleStop).toBe(true);
    expect(sr.sender.rtpIn.droppedUnkeyed).toBe(0);
    expect(sr.sender.rtpIn.invalid).toBe(0);
    expect(sr.sender.packets).toBe(sr.sender.rtpIn.received);

    recv.child.kill("SIGINT");
    const recvRun = await recv.done;
    expect(recvRun.code, recvRun.stdout + recvRun.stderr).toBe(0);
    const summary = receiverSummary(recvRun.stdout);
    expect(summary.delivered, summary.text).toBe(sr.sender.packets); // every packet the sender protected was decrypted
    expect(summary.lost).toBe(0);
    expect(summary.authFailed).toBe(0);

    // The output ffmpeg ends on SIGINT (writes the Matroska trailer).
    await new Promise((r) => setTimeout(r, 300));
    sink.child.kill("SIGINT");
    const sinkRun = await sink.done;
    expect(existsSync(outMkv), sinkRun.stderr).toBe(true);

    const p = probe(outMkv);
    console.log(`video: ${p.codec} ${p.width}x${p.height}, ${p.frames} frames; sender ${sr.sender.packets} RTP packets, ` +
      `${(sr.sender.bytes / 1e6).toFixed(2)} MB, ${sr.sender.mbps.toFixed(1)} Mbit/s over the input's span (encode ${encodeS.toFixed(1)} s); ` +
      `mkv ${p.durationS} s at ${p.mbps.toFixed(1)} Mbit/s`);
    expect(p.codec).toBe("h264");
    expect([p.width, p.height]).toEqual([1920, 1080]);
    expect(p.frames).toBe(FRAMES);
  }, 60_000);
});
