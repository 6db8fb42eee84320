/**
 * Publishes a sender's streams (SSRC, ROC) in the store, so that the key messages of every BM-SC instance on
 * it name them with their ROC — not only those of the instance that sends (store/stream-records.ts,
 * service-streams.ts; RFC 3711 §3.3.1). It looks every POLL_MS and writes a stream when its ROC changed or
 * its record is half-way to expiry (RECORD_TTL_MS): a few writes a minute per sender, and a ROC in the store
 * at most POLL_MS behind the sender's. Stopping deletes the records; a sender that dies stops being named
 * when they expire.
 */
import { unrefTimer, type Clock } from "../../clock.js";
import type { SrtpStreamPosition, StreamReport } from "../stream-positions.js";
import type { AsyncKeyStore } from "./store/index.js";

export const POLL_MS = 250;
export const RECORD_TTL_MS = 10_000;

export class StreamPublisher {
  readonly #store: AsyncKeyStore;
  readonly #clock: Clock;
  readonly #serviceId: string;
  readonly #report: StreamReport;
  /** What the store holds of this sender: ROC and write time by SSRC. */
  readonly #written = new Map<number, { roc: number; at: number }>();
  #timer: unknown;
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  /** Polls or store writes that failed (retried at the next poll). */
  failures = 0;

  constructor(store: AsyncKeyStore, clock: Clock, serviceId: string, report: StreamReport) {
    this.#store = store;
    this.#clock = clock;
    this.#serviceId = serviceId;
    this.#report = report;
    this.#arm();
  }

  /** Stops publishing and deletes this sender's records. Never rejects. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clock.clearTimer(this.#timer);
    await this.#inFlight;
    const ssrcs = [...this.#written.keys()];
    this.#written.clear();
    await Promise.all(ssrcs.map((ssrc) => this.#store.deleteStreamPosition(this.#serviceId, ssrc).catch(() => false)));
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#inFlight = this.#publish().catch(() => void this.failures++).finally(() => this.#stopped || this.#arm());
    }, POLL_MS);
    unrefTimer(this.#timer);
  }

  async #publish(): Promise<void> {
    const now = this.#clock.now();
    const streams: readonly SrtpStreamPosition[] = this.#report();
    const due = streams.filter((s) => {
      const w = this.#written.get(s.ssrc >>> 0);
      return !w || w.roc !== s.roc || now - w.at >= RECORD_TTL_MS / 2;
    });
    const gone = [...this.#written.keys()].filter((ssrc) => !streams.some((s) => s.ssrc >>> 0 === ssrc));
    await Promise.all([
      ...due.map(({ ssrc, roc }) => this.#store.putStreamPosition(this.#serviceId, ssrc >>> 0, roc, RECORD_TTL_MS, now).then(
        () => void this.#written.set(ssrc >>> 0, { roc, at: now }), () => void this.failures++,
      )),
      ...gone.map((ssrc) => this.#store.deleteStreamPosition(this.#serviceId, ssrc).then(() => void this.#written.delete(ssrc), () => void this.failures++)),
    ]);
  }
}
