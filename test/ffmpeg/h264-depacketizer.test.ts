// The H.264 depacketizer on real video: ffmpeg encodes 3 s of testsrc2 1280x720 at 30 fps (libx264 main,
// 3 slices per picture, an IDR every 30 frames) into an Annex B file; a second ffmpeg packetizes
// that file (-c copy -f rtp, packetization-mode 1) to a UDP socket this test binds on 127.0.0.1, and the
// datagrams are depacketized: in order, shuffled within the reorder window, duplicated, and with one
// packet lost in the middle of a GOP. ffprobe is the oracle for the frame count, the key frames, and the
// profile and level of the codec string. FAILS, never skips, without ffmpeg/ffprobe. Bounded: < 60 s.
// No B-frames: a raw .h264 file has no presentation times, and with B-frames ffmpeg's RTP muxer then gives
// every packet of the file the same timestamp (AUs would still end at the marker bits).
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H264Depacketizer, type H264AccessUnit } from "../../src/index.js";
import { hex, nalTypes, nalUnits } from "../helpers/annexb.js";
import { prng, shuffleWithin } from "../helpers/prng.js";
import { freePortPair, killChildren, requireTools, start } from "./helpers.js";

const FRAMES = 90;
const GOP = 30;
let dir = "";
let fileNals: Uint8Array[] = [];
let datagrams: Buffer[] = [];
/** ffprobe, per packet in decode order: is it a key frame. */
let keyFlags: boolean[] = [];
let probed: { frames: number; profile: string; level: number } = { frames: 0, profile: "", level: 0 };

function depacketize(packets: Uint8Array[]) {
  const out: H264AccessUnit[] = [];
  const d = new H264Depacketizer({ onAccessUnit: (au) => out.push(au), payloadType: 96 });
  for (const p of packets) d.push(p);
  d.flush();
  return { out, stats: d.stats };
}

const seqOf = (p: Uint8Array): number => (p[2]! << 8) | p[3]!;
const tsOf = (p: Uint8Array): number => ((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!) >>> 0;
const nalsOf = (aus: H264AccessUnit[]): string[] => aus.flatMap((a) => nalUnits(a.data).map(hex));

beforeAll(async () => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), "mbms-h264-"));
  const file = join(dir, "video.h264");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
    "-frames:v", String(FRAMES), "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "0", "-g", String(GOP),
    "-keyint_min", String(GOP), "-sc_threshold", "0", "-x264-params", "slices=3", "-an", file], { stdio: "ignore", timeout: 30_000 });
  fileNals = nalUnits(readFileSync(file));
  const info = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v", "-show_entries",
    "stream=nb_read_frames,profile,level:packet=flags", "-of", "json", file], { encoding: "utf8", timeout: 20_000 })) as
    { streams: { nb_read_frames: string; profile: string; level: number }[]; packets: { flags: string }[] };
  probed = { frames: Number(info.streams[0]!.nb_read_frames), profile: info.streams[0]!.profile, level: info.streams[0]!.level };
  keyFlags = info.packets.map((p) => p.flags.startsWith("K"));

  // Packetize the file as RTP to a socket of ours (real time: loopback UDP would drop a burst of 1 MB).
  const port = await freePortPair();
  const sock = dgram.createSocket("udp4");
  sock.on("message", (m) => datagrams.push(m));
  await new Promise<void>((r) => sock.bind(port, "127.0.0.1", () => r()));
  const ff = start("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-framerate", "30", "-i", file, "-c", "copy",
    "-f", "rtp", `rtp://127.0.0.1:${port}?pkt_size=1200`], 30_000);
  const exit = await ff.done;
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
  expect(exit.code, exit.stderr).toBe(0);
}, 60_000);

afterAll(() => {
  killChildren();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("H264Depacketizer on ffmpeg's RTP (libx264 720p30, -c copy -f rtp)", () => {
  it("captured a lossless, in-order stream of several packets per frame", () => {
    expect(probed.frames).toBe(FRAMES);
    expect(keyFlags).toHaveLength(FRAMES);
    expect(datagrams.length).toBeGreaterThan(3 * FRAMES);
    const seqs = datagrams.map(seqOf);
    expect(seqs.every((s, i) => i === 0 || s === ((seqs[i - 1]! + 1) & 0xffff))).toBe(true);
    // All three payload structures occur: FU-A for large slices, single NAL units for small ones, STAP-A
    // for SPS + PPS (+ SEI).
    const types = new Set(datagrams.map((d) => d[12]! & 0x1f));
    expect([...types].sort((a, b) => a - b)).toEqual([1, 24, 28]);
  });

  it("emits the file's NAL units in order, one AU per frame, key AUs where ffprobe's key frames are", () => {
    const { out, stats } = depacketize(datagrams);
    expect(stats).toMatchObject({ packets: datagrams.length, lost: 0, malformed: 0, unsupported: 0, framesDropped: 0 });
    expect(out).toHaveLength(probed.frames);
    expect(nalsOf(out)).toEqual(fileNals.map(hex));
    expect(out.map((a) => a.key)).toEqual(keyFlags);
    expect(stats.keyFrames).toBe(FRAMES / GOP);
    // Each key AU starts with SPS, PPS (in-band, as VideoDecoder without `description` needs).
    for (const a of out.filter((x) => x.key)) expect(nalTypes(nalUnits(a.data)).slice(0, 2)).toEqual([7, 8]);
    // Timestamps: one per frame, 3000 ticks (90 kHz / 30) apart, give or take ffmpeg's rounding.
    const ts = out.map((a) => a.timestamp);
    for (const [i, t] of ts.slice(1).entries()) expect(Math.abs(t - ts[i]! - 3000), `frame ${i + 1}`).toBeLessThanOrEqual(1);
    expect(out[0]!.timestamp).toBe(tsOf(datagrams[0]!));
  });

  it("gives the codec string of the SPS: profile and level as ffprobe reads them", () => {
    const { out } = depacketize(datagrams);
    const sps = fileNals.find((n) => (n[0]! & 0x1f) === 7)!;
    expect(probed).toMatchObject({ profile: "Main", level: 31 });
    const codec = `avc1.4D${hex(sps.subarray(2, 3)).toUpperCase()}1F`;
    expect(new Set(out.filter((a) => a.key).map((a) => a.codec))).toEqual(new Set([codec]));
    expect(out.filter((a) => !a.key).every((a) => a.codec === undefined)).toBe(true);
  });

  it("the same output from packets shuffled within the reorder window, and from duplicated packets", () => {
    const lossless = nalsOf(depacketize(datagrams).out);
    const shuffled = shuffleWithin(datagrams, 12, prng(12));
    const s = depacketize(shuffled);
    expect(s.stats.reordered).toBeGreaterThan(datagrams.length / 4);
    expect(s.stats).toMatchObject({ lost: 0, late: 0, framesDropped: 0, accessUnits: FRAMES });
    expect(nalsOf(s.out)).toEqual(lossless);

    // Every third packet twice in a row, and every 50th again 10 packets later (handed on by then).
    const doubled = datagrams.flatMap((p, i) => [p, ...(i % 3 === 0 ? [p] : []), ...(i % 50 === 10 && i > 50 ? [datagrams[i - 10]!] : [])]);
    const again = datagrams.filter((_, i) => i % 50 === 10 && i > 50).length;
    expect(again).toBeGreaterThan(15);
    const dup = depacketize(doubled);
    expect(dup.stats.duplicates).toBe(Math.ceil(datagrams.length / 3) + again);
    expect(dup.stats).toMatchObject({ lost: 0, late: 0, framesDropped: 0 });
    expect(nalsOf(dup.out)).toEqual(lossless);
  });

  it("one packet lost in the middle of a GOP: that frame and the rest of the GOP are dropped, output resumes exactly at the next IDR", () => {
    const { out: all } = depacketize(datagrams);
    // The AU (decode order) of each datagram, by its timestamp.
    const auOfTs = new Map(all.map((a, i) => [a.timestamp >>> 0, i]));
    const lostFrame = GOP + 15;
    const lostAt = datagrams.findIndex((p) => auOfTs.get(tsOf(p)) === lostFrame) + 1; // its second packet
    expect(auOfTs.get(tsOf(datagrams[lostAt]!))).toBe(lostFrame);
    const { out, stats } = depacketize(datagrams.filter((_, i) => i !== lostAt));
    const kept = [...all.slice(0, lostFrame), ...all.slice(2 * GOP)];
    expect(out.map((a) => a.timestamp)).toEqual(kept.map((a) => a.timestamp));
    expect(nalsOf(out)).toEqual(nalsOf(kept));
    expect(out[lostFrame]!.key).toBe(true);
    expect(stats).toMatchObject({ lost: 1, framesDropped: GOP - 15, accessUnits: FRAMES - (GOP - 15), waitingForKeyFrame: false });
  });
});
