/**
 * The SRTP streams a key message names: the HDR's SRTP-ID map (RFC 3830 §6.1.1), one entry per sender of the
 * service with its SSRC and current ROC. A receiver joining after a sender's sequence number wrapped cannot
 * tell the ROC from the packets (RFC 3711 §3.3.1: key management must signal it); with it, the first packet's
 * index is right. The map is in the clear header (covered by the MAC), so an ME in UICC mode reads it too.
 */
import type { SrtpIdEntry } from "../mikey/codec/index.js";
import { MbmsError } from "./errors.js";

/** One sender's stream: its SSRC and the ROC of its current index. */
export interface SrtpStreamPosition {
  ssrc: number;
  roc: number;
}

/** A sender's streams now (e.g. SrtpContext.sendStreams). */
export type StreamReport = () => readonly SrtpStreamPosition[];

/** At most this many streams in one message (the HDR's #CS is one byte; a service has a few senders). */
export const MAX_STREAMS_PER_MESSAGE = 16;

/** The SRTP-ID map for `streams` under policy 0; none: one entry SSRC 0, ROC 0 (a ROC of 0 sets nothing). */
export function srtpIdMap(streams: readonly SrtpStreamPosition[]): SrtpIdEntry[] {
  if (streams.length > MAX_STREAMS_PER_MESSAGE) throw new MbmsError("ERR_ARGUMENT", `at most ${MAX_STREAMS_PER_MESSAGE} streams in a key message`);
  const entries = streams.map((s) => ({ policyNo: 0, ssrc: s.ssrc >>> 0, roc: s.roc >>> 0 }));
  return entries.length > 0 ? entries : [{ policyNo: 0, ssrc: 0, roc: 0 }];
}

/** The streams of a decoded SRTP-ID map (the first MAX_STREAMS_PER_MESSAGE: a receiver keeps no more). */
export function streamsOf(map: readonly SrtpIdEntry[]): SrtpStreamPosition[] {
  return map.slice(0, MAX_STREAMS_PER_MESSAGE).map((e) => ({ ssrc: e.ssrc, roc: e.roc }));
}
