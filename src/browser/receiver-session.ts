/**
 * What runs in the receiver worker: the UE at the session level (UeReceiver: key client over fetch, TEK
 * source in the ME or a card behind a port, MKI evaluator + SRTP context in WASM), fed by the relay's
 * WebSocket in batches, and the media path behind it (RFC 6184 depacketizer → VideoSink). The relay never
 * sees a key: every datagram arrives as the sender protected it and is decrypted here.
 */
import { mkiLength } from "../mbms/key-hierarchy.js";
import type { MbmsError } from "../mbms/errors.js";
import type { KeyDelivery } from "../mbms/ue/key-client-options.js";
import { UeReceiver, type UeKeying } from "../mbms/ue/ue-receiver.js";
import { SRTP_PROFILES } from "../srtp/profiles.js";
import type { PacketBatch } from "../srtp/batch.js";
import { initCore } from "../wasm/load.js";
import { H264Depacketizer } from "../media/h264/index.js";
import { BrowserReceiverError } from "./errors.js";
import { PacketBatcher } from "./packet-batcher.js";
import type { BrowserReceiverStats, ReceiverConfig } from "./protocol.js";
import { FrameSpan } from "./frame-span.js";
import { SwitchTimer } from "./switch-timer.js";
import { VideoSink } from "./video-sink.js";

export interface SessionEvents {
  onKeyed(delivery: KeyDelivery): void;
  /** A failure: fatal ones (the relay closed, the first keying failed) end the session. */
  onError(error: BrowserReceiverError, fatal: boolean): void;
}

export class ReceiverSession {
  readonly #config: ReceiverConfig;
  readonly #events: SessionEvents;
  readonly #switches = new SwitchTimer();
  readonly #batcher = new PacketBatcher((batch) => this.#decrypt(batch));
  readonly #video: VideoSink;
  readonly #depacketizer: H264Depacketizer;
  readonly #span = new FrameSpan();
  #receiver: UeReceiver | undefined;
  #socket: WebSocket | undefined;
  #mode: "ME" | "UICC";
  #packets = 0;
  #bytes = 0;
  #startedAt = 0;
  #currentMki: string | undefined;
  #decryptMs = 0;
  #mediaMs = 0;
  #rate = { at: 0, bytes: 0, mbps: 0 };
  #deliveredBytes = 0;
  #closed = false;

  constructor(config: ReceiverConfig, mode: "ME" | "UICC", canvas: OffscreenCanvas | undefined, events: SessionEvents) {
    this.#config = config;
    this.#mode = mode;
    this.#events = events;
    this.#video = new VideoSink(canvas, (e) => events.onError(e, false));
    this.#depacketizer = new H264Depacketizer({
      onAccessUnit: (au) => {
        this.#span.see(au.timestamp, au.key);
        this.#video.decode(au);
      },
    });
  }

  /** Keys the receiver (initial key message over fetch), then opens the relay's WebSocket. */
  async start(keying: UeKeying): Promise<void> {
    const core = await initCore();
    const c = this.#config;
    const receiver = new UeReceiver({
      baseUrl: c.keyServerUrl, serviceId: c.serviceId, userId: c.userId, keying, core,
      ...(c.rotationPeriodMs ? { rotationPeriodMs: c.rotationPeriodMs } : {}),
      ...(c.keyClient ? { keyClient: c.keyClient } : {}), ...(c.evaluator ? { evaluator: c.evaluator } : {}),
      onPacket: (rtp) => {
        this.#deliveredBytes += rtp.length;
        const t = performance.now();
        this.#depacketizer.push(rtp);
        this.#mediaMs += performance.now() - t;
      },
      onDelivery: (d) => this.#keyed(d),
      onError: (e: MbmsError) => this.#events.onError(new BrowserReceiverError(e.code, e.message), false),
    });
    this.#receiver = receiver;
    await receiver.start();
    if (this.#closed) return;
    this.#socket = this.#connect();
  }

  #keyed(d: KeyDelivery): void {
    const parameters = "kind" in d ? d.parameters : d;
    if (parameters) this.#switches.setLayout(mkiLength(parameters.layout), SRTP_PROFILES[parameters.profile].srtpTagLength);
    this.#events.onKeyed(d);
  }

  #connect(): WebSocket {
    const socket = new WebSocket(this.#config.relayUrl);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      const datagram = new Uint8Array(event.data);
      if (this.#packets === 0) this.#startedAt = performance.now();
      this.#packets++;
      this.#bytes += datagram.length;
      this.#switches.observe(datagram);
      this.#batcher.add(datagram);
    };
    socket.onclose = (event: CloseEvent) => {
      if (!this.#closed) this.#events.onError(new BrowserReceiverError("ERR_RELAY", `the relay closed the stream (${event.code})`), true);
    };
    return socket;
  }

  #decrypt(batch: PacketBatch): void {
    const receiver = this.#receiver;
    if (!receiver || this.#closed) return;
    const t = performance.now();
    const media = this.#mediaMs;
    receiver.receiveBatch(batch);
    // onPacket ran inside: its media time is not decryption.
    this.#decryptMs += performance.now() - t - (this.#mediaMs - media);
    const mki = receiver.evaluator.stats.currentMki;
    if (mki !== this.#currentMki) {
      // The first key is not a switch (the stream was not playing before it).
      if (mki !== undefined && this.#currentMki !== undefined) this.#switches.switched(mki);
      this.#currentMki = mki;
    }
  }

  get stats(): BrowserReceiverStats {
    const e = this.#receiver?.stats;
    const d = this.#depacketizer.stats, v = this.#video.stats;
    const now = performance.now();
    const r = this.#rate;
    if (now - r.at >= 250) {
      r.mbps = r.at === 0 ? 0 : ((this.#deliveredBytes - r.bytes) * 8) / 1e3 / (now - r.at);
      r.at = now;
      r.bytes = this.#deliveredBytes;
    }
    const perPacket = (ms: number) => (this.#packets === 0 ? 0 : (ms * 1e3) / this.#packets);
    return {
      mode: this.#mode, seconds: this.#startedAt === 0 ? 0 : (now - this.#startedAt) / 1e3, packets: this.#packets, bytes: this.#bytes,
      delivered: e?.delivered ?? 0, mbps: r.mbps, authFailures: e?.authFailed ?? 0, replayed: e?.replayed ?? 0, refused: e?.refused ?? 0,
      untrusted: e?.untrustedDropped ?? 0, forgedKeys: e?.forgedKeys ?? 0, lost: d.lost, keySwitches: e?.switches ?? 0,
      currentMki: e?.currentMki, switchLatency: this.#switches.stats, rekeys: e?.keyClient.deliveries ?? 0,
      unscheduledRekeys: e?.unknownTgkNotified ?? 0, installedKeys: e?.installedKeys ?? 0,
      accessUnits: d.accessUnits, keyFrames: d.keyFrames, framesSpanned: this.#span.frames, framesDecoded: v.framesDecoded, framesDropped: d.framesDropped + v.framesDropped,
      decodeErrors: v.decodeErrors, width: v.width, height: v.height, pixelStdDev: v.pixelStdDev,
      decryptUsPerPacket: perPacket(this.#decryptMs), mediaUsPerPacket: perPacket(this.#mediaMs),
    };
  }

  /** Closes the socket, zeroes every key (UeReceiver.close), closes the decoder. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close();
    this.#batcher.flush();
    this.#video.close();
    await this.#receiver?.close();
  }
}
