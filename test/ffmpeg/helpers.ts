// Shared by the test/ffmpeg suites: child processes (test/helpers/processes.ts, re-exported), free UDP port
// pairs on 127.0.0.1, the ffmpeg test video (testsrc2, H.264 CBR, as RTP), its SDP, a recorder for an SDP,
// ffprobe's frame count, and the summary line of `mbms-srtp receive`. They FAIL, never skip, without
// ffmpeg/ffprobe or without the build (dist/).
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { MAIN } from "../helpers/processes.js";
import { encodeArgs, type TestVideo } from "../../src/cli/test-video.js";

export { MAIN, killChildren, lastJson, start } from "../helpers/processes.js";
export { encodeArgs, type TestVideo };

/** For beforeAll: ffmpeg, ffprobe and the build must be there. */
export function requireTools(): void {
  for (const tool of ["ffmpeg", "ffprobe"]) {
    try {
      execFileSync(tool, ["-version"], { stdio: "ignore" });
    } catch {
      throw new Error(`test/ffmpeg needs ${tool}: apt-get install ffmpeg`);
    }
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json, or npm run build)`);
}

/** An even UDP port with port+1 free too (RTP + RTCP), on 127.0.0.1. */
export async function freePortPair(): Promise<number> {
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


/**
 * The SDP of `video` as plain RTP: ffmpeg writes it only once it is already sending, too late to start a
 * reader first, so a one-frame encode with the same options to a spare port writes it to `sdpFile`.
 */
export async function encoderSdp(video: TestVideo, sdpFile: string): Promise<string> {
  const url = `rtp://127.0.0.1:${await freePortPair()}?pkt_size=1200`;
  execFileSync("ffmpeg", ["-y", ...encodeArgs(video, ["-frames:v", "1"], [url, "-sdp_file", sdpFile])], { stdio: "ignore", timeout: 15_000 });
  return readFileSync(sdpFile, "utf8");
}

/** `sdp` with its media port set to `port`. */
export const withPort = (sdp: string, port: number): string => sdp.replace(/^m=video \d+ /m, `m=video ${port} `);

/** ffmpeg arguments: read the SDP (plain or with a=crypto), copy the video into Matroska. `input`: input options. */
export const recordArgs = (sdpFile: string, mkvFile: string, input: string[] = []): string[] => ["-hide_banner", "-loglevel",
  "warning", "-y", "-protocol_whitelist", "file,udp,rtp,srtp", "-buffer_size", "8388608", ...input, "-i", sdpFile, "-c", "copy", mkvFile];

export interface Probe {
  frames: number;
  codec: string;
  width: number;
  height: number;
  durationS: number;
  mbps: number;
}

/** ffprobe, counting every video frame of `file`. */
export function probe(file: string): Probe {
  const out = execFileSync("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v", "-show_entries",
    "stream=nb_read_frames,codec_name,width,height:format=bit_rate,duration", "-of", "json", file], { encoding: "utf8", timeout: 20_000 });
  const p = JSON.parse(out) as { streams: { nb_read_frames: string; codec_name: string; width: number; height: number }[]; format: { bit_rate?: string; duration?: string } };
  const st = p.streams[0]!;
  return {
    frames: Number(st.nb_read_frames), codec: st.codec_name, width: st.width, height: st.height,
    durationS: Number(p.format.duration), mbps: Number(p.format.bit_rate) / 1e6,
  };
}

export interface ReceiverSummary {
  text: string;
  delivered: number;
  lost: number;
  authFailed: number;
}

/** The summary `mbms-srtp receive` prints last (without --json). */
export function receiverSummary(stdout: string): ReceiverSummary {
  const text = stdout.trim().split("\n").slice(-2).join("\n");
  const m = /delivered (\d+) \(packets (-?\d+)\.\.(-?\d+)\), lost (\d+), auth failures (\d+)/.exec(text);
  if (!m) throw new Error(`no receiver summary in: ${text}`);
  return { text, delivered: Number(m[1]), lost: Number(m[4]), authFailed: Number(m[5]) };
}
