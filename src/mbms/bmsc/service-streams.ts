/**
 * The SRTP streams of each service that a key message names with their current ROC (stream-positions.ts), so
 * that a receiver keyed after a sequence-number wrap decrypts from its first packet (RFC 3711 §3.3.1): those
 * this process's senders report (MbmsSender), and those the store holds of senders anywhere — each sender
 * publishes its own (stream-publisher.ts), so an instance that only serves keys names them too. The store is
 * read at most once per POLL_MS per service; with the publisher's poll, a ROC named is at most about
 * 2 × POLL_MS behind its sender's, within the one ROC of slack a receiver gives a signalled ROC (a stream
 * wraps less often than that below 131,000 packets/s).
 */
import type { Clock } from "../../clock.js";
import { MAX_STREAMS_PER_MESSAGE, type SrtpStreamPosition, type StreamReport } from "../stream-positions.js";
import type { AsyncKeyStore } from "./store/index.js";
import { POLL_MS } from "./stream-publisher.js";

export class ServiceStreams {
  readonly #reports = new Map<string, Set<StreamReport>>();
  readonly #store: AsyncKeyStore;
  readonly #clock: Clock;
  readonly #stored = new Map<string, { at: number; read: Promise<readonly SrtpStreamPosition[]> }>();
  /** Store reads that failed: the key messages of that moment named this process's streams only. */
  readFailures = 0;

  constructor(store: AsyncKeyStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

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

  /**
   * The streams of `serviceId` now: this process's first (the freshest ROCs), then the store's others; at
   * most MAX_STREAMS_PER_MESSAGE, each SSRC once.
   */
  async of(serviceId: string): Promise<SrtpStreamPosition[]> {
    const bySsrc = new Map<number, SrtpStreamPosition>();
    const add = (s: SrtpStreamPosition) => {
      if (bySsrc.size < MAX_STREAMS_PER_MESSAGE && !bySsrc.has(s.ssrc >>> 0)) bySsrc.set(s.ssrc >>> 0, { ssrc: s.ssrc >>> 0, roc: s.roc });
    };
    const stored = this.#read(serviceId);
    for (const report of this.#reports.get(serviceId) ?? []) for (const s of report()) add(s);
    for (const s of await stored) add(s);
    return [...bySsrc.values()];
  }

  /** The store's streams of `serviceId`, from a read at most POLL_MS old (concurrent callers share one). */
  #read(serviceId: string): Promise<readonly SrtpStreamPosition[]> {
    const now = this.#clock.now();
    const cached = this.#stored.get(serviceId);
    if (cached && now - cached.at < POLL_MS) return cached.read;
    const read = this.#store.listStreamPositions(serviceId, now).catch(() => {
      this.readFailures++;
      return [];
    });
    this.#stored.set(serviceId, { at: now, read });
    return read;
  }
}
