/**
 * The SRTP streams this process sends per service, as its senders report them (MbmsSender): each key message
 * names them with their current ROC (stream-positions.ts), so that a receiver keyed after a sequence-number
 * wrap decrypts from its first packet (RFC 3711 §3.3.1). Senders of other instances on a shared store are not
 * known here.
 */
import { MAX_STREAMS_PER_MESSAGE, type SrtpStreamPosition } from "../stream-positions.js";

export type StreamReport = () => readonly SrtpStreamPosition[];

export class ServiceStreams {
  readonly #reports = new Map<string, Set<StreamReport>>();

  /** Adds a sender's report for `serviceId`; returns its removal. */
  add(serviceId: string, report: StreamReport): () => void {
    let set = this.#reports.get(serviceId);
    if (!set) this.#reports.set(serviceId, (set = new Set()));
    set.add(report);
    return () => {
      set.delete(report);
      if (set.size === 0 && this.#reports.get(serviceId) === set) this.#reports.delete(serviceId);
    };
  }

  /** The streams of `serviceId` now (at most MAX_STREAMS_PER_MESSAGE; each SSRC once). */
  of(serviceId: string): SrtpStreamPosition[] {
    const bySsrc = new Map<number, SrtpStreamPosition>();
    for (const report of this.#reports.get(serviceId) ?? []) {
      for (const s of report()) if (bySsrc.size < MAX_STREAMS_PER_MESSAGE) bySsrc.set(s.ssrc >>> 0, { ssrc: s.ssrc >>> 0, roc: s.roc });
    }
    return [...bySsrc.values()];
  }
}
