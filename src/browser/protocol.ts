import type { UeEvaluatorTuning, UeKeyClientTuning } from "../mbms/ue/ue-receiver.js";
import type { VideoSinkStats } from "./video-sink.js";

/**
 * Messages between the page (BrowserReceiver) and its receiver worker (receiver-worker.ts). The KEK or the
 * card's port, and the canvas, are transferred once in `start`; afterwards only stats flow back.
 */

export interface ReceiverConfig {
  /** The relay's WebSocket, e.g. ws://127.0.0.1:8080/ws. */
  relayUrl: string;
  /** The BM-SC key server's base URL (it must allow the page's origin: --cors-origin). */
  keyServerUrl: string;
  serviceId: string;
  userId: string;
  /** The service's TEK_RAND2 period if known (the grace period for late packets). */
  rotationPeriodMs?: number;
  /** How often stats are posted (default 500 ms). */
  statsIntervalMs?: number;
  /** Key-client timing and evaluator bounds (numbers only: they cross to the worker), e.g. for TGK lifetimes of seconds. */
  keyClient?: Omit<UeKeyClientTuning, "fetch" | "random">;
  evaluator?: UeEvaluatorTuning;
}

export type WorkerKeying =
  | { mode: "ME"; kek: ArrayBuffer }
  | { mode: "UICC"; cardPort: MessagePort };

export type PageToWorker =
  | { type: "start"; config: ReceiverConfig; keying: WorkerKeying; canvas?: OffscreenCanvas }
  | { type: "stop" };

export interface SwitchLatency {
  /** Key switches timed: first packet under a new MKI → first packet decrypted under it. */
  count: number;
  lastMs: number;
  medianMs: number;
  maxMs: number;
}

/** The page's view of the stream; the video fields are the VideoSink's (video-sink.ts). */
export interface BrowserReceiverStats extends VideoSinkStats {
  mode: "ME" | "UICC";
  /** Seconds since the stream started (the first packet). */
  seconds: number;
  /** SRTP datagrams and bytes from the relay. */
  packets: number;
  bytes: number;
  /** Decrypted RTP packets, and the decrypted bitrate over the last interval (Mbit/s). */
  delivered: number;
  mbps: number;
  authFailures: number;
  replayed: number;
  refused: number;
  /** Forged or retired MKIs dropped without a derivation, and probation keys that never authenticated. */
  untrusted: number;
  forgedKeys: number;
  /** RTP packets lost (sequence gaps seen by the depacketizer). */
  lost: number;
  keySwitches: number;
  currentMki: string | undefined;
  switchLatency: SwitchLatency;
  /** Key messages accepted, and key requests made because a packet named a TGK the page lacks (forged MKIs must not cause any). */
  rekeys: number;
  unscheduledRekeys: number;
  /** SRTP master keys installed now (current, previous, probation: bounded). */
  installedKeys: number;
  /**
   * Frames the stream carried from the first key frame the page saw to the last frame seen (RTP timestamp
   * span over the smallest step between frames): the frames a perfect receiver would have decoded.
   */
  framesSpanned: number;
  /** Access units and key frames out of the depacketizer (framesDropped: its drops and the sink's). */
  accessUnits: number;
  keyFrames: number;
  /** Worker CPU per packet: SRTP (MKI evaluation, decrypt, verify) and depacketizing + decoder submission, µs. */
  decryptUsPerPacket: number;
  mediaUsPerPacket: number;
}

export type WorkerToPage =
  | { type: "keyed"; userId: string; tgks: number }
  | { type: "stats"; stats: BrowserReceiverStats }
  | { type: "error"; code: string; message: string; fatal: boolean }
  | { type: "stopped"; stats: BrowserReceiverStats };
