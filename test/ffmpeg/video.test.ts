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
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const SERVICE = "urn:mbms:video:1";
const USER = "sip:ue-me@video.invalid";
const KEK = randomBytes(16).toString("hex");
const FRAMES = 100; // 4 s at 25 fps
const children: ChildProcess[] = [];
let dir = "";

interface Proc {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves with the first stdout line that matches (or "" when the process ends first). */
  line: (re: RegExp) => Promise<string>;
}

function start(cmd: string, args: string[], timeoutMs: number): Proc {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const l = stdout.split("\n").find((x) => w.re.test(x));
      if (l !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
    check();
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(kill);
      for (const w of waiters.splice(0)) w.resolve("");
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child, done,
    line: (re) => new Promise<string>((resolve) => {
      waiters.push({ re, resolve });
      check();
    }),
  };
}

/** An even UDP port with port+1 free too (RTP + RTCP), on 127.0.0.1. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + 2 * Math.floor(Math.random() * 20_000);
    const socks = [dgram.createSocket("udp4"), dgram.createSocket("udp4")];
    const ok = await Promise.all(socks.map((s, k) => new Promise<boolean>((r) => {
      s.once("error", () => r(false));
      s.bind(p + k, "127.0.0.1", () => r(true));
    })));
    await Promise.all(socks.map((s) => new Promise<void>((r) => {
      try {
        s.close(() => r());
      } catch {
        r();
      }
    })));
    if (ok.every(Boolean)) return p;
  }
  throw new Error("no free UDP port pair");
}

const lastJson = <T>(s: string): T => JSON.parse(s.trim().split("\n").at(-1)!) as T;

beforeAll(() => {
  for (const tool of ["ffmpeg", "ffprobe"]) {
    try {
      execFileSync(tool, ["-version"], { stdio: "ignore" });
    } catch {
      throw new Error(`test/ffmpeg needs ${tool}: apt-get install ffmpeg`);
    }
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json, or npm run build)`);
  dir = mkdtempSync(join(tmpdir(), "mbms-ffmpeg-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: 1000, tgkLifetimeMs: 60_000 }],
    users: [{ userId: USER, kek: KEK }],
  }));
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
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

    // 3. The SDP: ffmpeg writes it only once it is already sending, too late to start the output ffmpeg
    // first. So a one-frame encode with the same options (same SPS/PPS, payload type 96) writes in.sdp to a
    // spare port; out.sdp is that with the port replaced by outPort.
    const encode = (port: number, extra: string[]) => ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
      "-i", "testsrc2=size=1920x1080:rate=25", ...extra, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
      "-b:v", "20M", "-minrate", "20M", "-maxrate", "20M", "-bufsize", "2M", "-x264-params", "nal-hrd=cbr", "-an",
      "-f", "rtp", `rtp://127.0.0.1:${port}?pkt_size=1200`, "-sdp_file", inSdp];
    execFileSync("ffmpeg", ["-y", ...encode(await freePortPair(), ["-frames:v", "1"])], { stdio: "ignore", timeout: 15_000 });
    const sdp = readFileSync(inSdp, "utf8");
    expect(sdp).toMatch(/^m=video \d+ RTP\/AVP 96/m);
    writeFileSync(outSdp, sdp.replace(/^m=video \d+ /m, `m=video ${outPort} `));

    // 4. The output ffmpeg: reads the SDP, copies the H.264 into Matroska.
    const sink = start("ffmpeg", ["-hide_banner", "-loglevel", "warning", "-y", "-protocol_whitelist", "file,udp,rtp",
      "-buffer_size", "8388608", "-i", outSdp, "-c", "copy", outMkv], 50_000);
    await new Promise((r) => setTimeout(r, 1000)); // let it open its ports

    // 5. The input ffmpeg: 4 s of video, real time, to the sender's RTP input.
    const t0 = Date.now();
    const src = start("ffmpeg", ["-y", ...encode(inPort, ["-t", "4"])], 30_000);
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
    const summary = recvRun.stdout.trim().split("\n").slice(-2).join("\n");
    const m = /delivered (\d+) \(packets (-?\d+)\.\.(-?\d+)\), lost (\d+), auth failures (\d+)/.exec(summary);
    expect(m, summary).not.toBeNull();
    expect(Number(m![1])).toBe(sr.sender.packets); // every packet the sender protected was decrypted
    expect(Number(m![4])).toBe(0);
    expect(Number(m![5])).toBe(0);

    // The output ffmpeg ends on SIGINT (writes the Matroska trailer).
    await new Promise((r) => setTimeout(r, 300));
    sink.child.kill("SIGINT");
    const sinkRun = await sink.done;
    expect(existsSync(outMkv), sinkRun.stderr).toBe(true);

    const probe = execFileSync("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v", "-show_entries",
      "stream=nb_read_frames,codec_name,width,height:format=bit_rate,duration", "-of", "json", outMkv], { encoding: "utf8", timeout: 20_000 });
    const p = JSON.parse(probe) as { streams: { nb_read_frames: string; codec_name: string; width: number; height: number }[]; format: { bit_rate?: string; duration?: string } };
    const st = p.streams[0]!;
    console.log(`video: ${st.codec_name} ${st.width}x${st.height}, ${st.nb_read_frames} frames; sender ${sr.sender.packets} RTP packets, ` +
      `${(sr.sender.bytes / 1e6).toFixed(2)} MB, ${sr.sender.mbps.toFixed(1)} Mbit/s over the input's span (encode ${encodeS.toFixed(1)} s); ` +
      `mkv ${p.format.duration} s at ${(Number(p.format.bit_rate) / 1e6).toFixed(1)} Mbit/s`);
    expect(st.codec_name).toBe("h264");
    expect([st.width, st.height]).toEqual([1920, 1080]);
    expect(Number(st.nb_read_frames)).toBe(FRAMES);
  }, 60_000);
});
