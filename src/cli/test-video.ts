/**
 * The ffmpeg test video as RTP: testsrc2 in real time, x264 ultrafast/zerolatency at a constant bitrate,
 * packetized by ffmpeg (`-f rtp`: RFC 6184 packetization mode 1 — single NAL units and FU-A). Used by
 * `demo --browser` as its source and by the ffmpeg suites.
 */
import { spawnSync } from "node:child_process";

export interface TestVideo {
  /** e.g. "1280x720" (25 fps). */
  size: string;
  /** CBR bitrate, e.g. "8M". */
  bitrate: string;
  /** Frames between IDRs (default x264's, 250: a late joiner may wait 10 s for a picture). */
  keyint?: number;
}

/** ffmpeg arguments: `video`, `extra` output options (-t 4, -frames:v 1), as RTP followed by `output` (URL, SRTP options). */
export function encodeArgs(video: TestVideo, extra: string[], output: string[]): string[] {
  return ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", `testsrc2=size=${video.size}:rate=25`, ...extra,
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", video.bitrate, "-minrate", video.bitrate,
    "-maxrate", video.bitrate, "-bufsize", "2M", "-x264-params", "nal-hrd=cbr", ...(video.keyint ? ["-g", String(video.keyint)] : []),
    "-an", "-f", "rtp", ...output];
}

/** ffmpeg arguments: an H.264 file (e.g. Annex B .h264) in real time, looped, packetized unchanged as RTP to `url`. */
export const replayArgs = (file: string, url: string): string[] =>
  ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy", "-an", "-f", "rtp", url];

/** Whether an `ffmpeg` with libx264 is on the PATH. */
export function ffmpegAvailable(): boolean {
  const r = spawnSync("ffmpeg", ["-hide_banner", "-encoders"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 && /libx264/.test(r.stdout);
}
