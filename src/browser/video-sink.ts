/**
 * Access units → WebCodecs VideoDecoder → a canvas. The bitstream is Annex B (no `description`), so the
 * decoder is configured from the first key frame's codec string (RFC 6381 `avc1.PPCCLL`) and each key
 * frame carries its SPS/PPS in-band. Backpressure: when the decoder's queue is deep the sink stops
 * feeding delta frames and waits for the next key frame (a dropped delta frame breaks the references of
 * the frames after it). A decoder error closes it; the next key frame configures a new one.
 */
import { BrowserReceiverError } from "./errors.js";

export interface EncodedAccessUnit {
  /** RTP timestamp, 90 kHz, extended past the 32-bit wrap. */
  timestamp: number;
  key: boolean;
  data: Uint8Array;
  codec?: string;
}

export interface VideoSinkStats {
  /** Frames decoded and painted, dropped (decoder backlog, waiting for a key frame), decoder errors. */
  framesDecoded: number;
  framesDropped: number;
  decodeErrors: number;
  /** The video's size once decoding, and the spread of the last painted frame's luma (0: uniform). */
  width: number;
  height: number;
  pixelStdDev: number;
}

/** Decoder queue depth past which delta frames are dropped until the next key frame. */
const MAX_QUEUE = 24;
/** Every this many frames, the painted frame's luma spread is sampled. */
const SAMPLE_EVERY = 30;

export class VideoSink {
  readonly stats: VideoSinkStats = { framesDecoded: 0, framesDropped: 0, decodeErrors: 0, width: 0, height: 0, pixelStdDev: 0 };
  #decoder: VideoDecoder | undefined;
  #codec = "";
  #waitForKey = true;
  readonly #context: OffscreenCanvasRenderingContext2D | null;

  constructor(
    private readonly canvas: OffscreenCanvas | undefined,
    private readonly onError: (error: BrowserReceiverError) => void,
  ) {
    if (typeof VideoDecoder === "undefined") throw new BrowserReceiverError("ERR_UNSUPPORTED", "this browser has no WebCodecs VideoDecoder");
    this.#context = canvas?.getContext("2d", { willReadFrequently: false }) ?? null;
  }

  decode(au: EncodedAccessUnit): void {
    if (au.key && au.codec && (this.#decoder === undefined || au.codec !== this.#codec)) this.#configure(au.codec);
    const decoder = this.#decoder;
    if (decoder === undefined || (this.#waitForKey && !au.key) || (!au.key && decoder.decodeQueueSize > MAX_QUEUE)) {
      this.stats.framesDropped++;
      if (!au.key) this.#waitForKey = true;
      return;
    }
    this.#waitForKey = false;
    // 90 kHz RTP clock → µs.
    decoder.decode(new EncodedVideoChunk({ type: au.key ? "key" : "delta", timestamp: Math.round((au.timestamp * 1000) / 90), data: au.data }));
  }

  close(): void {
    if (this.#decoder && this.#decoder.state !== "closed") this.#decoder.close();
    this.#decoder = undefined;
  }

  #configure(codec: string): void {
    this.close();
    this.#codec = codec;
    const decoder = new VideoDecoder({
      output: (frame) => this.#paint(frame),
      error: (e) => {
        this.stats.decodeErrors++;
        this.#decoder = undefined;
        this.#waitForKey = true;
        this.onError(new BrowserReceiverError("ERR_DECODE", `the video decoder failed: ${e.message}`));
      },
    });
    decoder.configure({ codec, optimizeForLatency: true });
    this.#decoder = decoder;
    this.#waitForKey = true;
  }

  #paint(frame: VideoFrame): void {
    const s = this.stats;
    s.framesDecoded++;
    s.width = frame.displayWidth;
    s.height = frame.displayHeight;
    const canvas = this.canvas, ctx = this.#context;
    if (canvas && ctx) {
      if (canvas.width !== s.width || canvas.height !== s.height) {
        canvas.width = s.width;
        canvas.height = s.height;
      }
      ctx.drawImage(frame, 0, 0);
      if (s.framesDecoded % SAMPLE_EVERY === 1) s.pixelStdDev = lumaSpread(ctx.getImageData(0, 0, s.width, s.height).data);
    }
    frame.close();
  }
}

/** Standard deviation of the luma of every 61st pixel (0 for a uniform picture). */
function lumaSpread(rgba: Uint8ClampedArray): number {
  let n = 0, sum = 0, sumSq = 0;
  for (let i = 0; i + 3 < rgba.length; i += 4 * 61) {
    const y = 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
    n++;
    sum += y;
    sumSq += y * y;
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}
