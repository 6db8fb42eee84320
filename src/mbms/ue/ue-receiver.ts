/**
 * The UE's receiver at the session level (like pion's SessionSRTP over its Context), with no sockets: the
 * key client keys and re-keys over HTTP, a TekSource holds the TGKs — in the ME (MeTekSource, the KEK in
 * this process) or on a card (UiccTekSource over a UiccProxy, the KEK never here) — and an MkiEvaluator
 * decrypts each SRTP packet under the TEK its MKI names. ME or UICC is one option, the rest is the same
 * code (the founding document's migration requirement). Whoever reads the datagrams (a UDP socket, a
 * WebSocket relay, a test) calls `receive` / `receiveBatch`; decrypted RTP goes to `onPacket`.
 *
 * One receiver is one service: TGK-IDs are numbered per service and an MKI names only the TGK-ID, so a UE
 * on several services runs one receiver each (over one card, if UICC-based: pass `closeCard: false`).
 *
 * Browser-safe: no Node APIs.
 */
import { systemClock, type Clock } from "../../clock.js";
import type { PacketBatch } from "../../srtp/batch.js";
import type { CryptoCore } from "../../wasm/core.js";
import type { MkiLayout, TekDerivation } from "../key-hierarchy.js";
import type { MbmsError } from "../errors.js";
import type { UiccProxy } from "../uicc/uicc-proxy.js";
import { UiccTekSource, cardCredentials, type UiccTekSourceOptions } from "../uicc/uicc-tek-source.js";
import { KeyClient, type KeyClientOptions, type KeyClientStats, type KeyDelivery } from "./key-client.js";
import type { MkiEvaluatorOptions, MkiEvaluatorStats } from "./evaluator-options.js";
import { MkiEvaluator } from "./mki-evaluator.js";
import { MeTekSource, type TekSource } from "./tek-source.js";
import type { SrtpStreamPosition } from "../stream-positions.js";

/** ME-based: the KEK is in this process. UICC-based: a card (proxy) holds it; the ME never does. */
/** ME-based: the KEK in the terminal. UICC-based: the card behind `card`; `alt2Tek` as in UiccTekSourceOptions. */
export type UeKeying =
  | { mode: "ME"; kek: Uint8Array }
  | { mode: "UICC"; card: UiccProxy; closeCard?: boolean; alt2Tek?: UiccTekSourceOptions["alt2Tek"] };

/** Key-client settings a receiver may tune (timing, retries, transport, clock). */
export type UeKeyClientTuning = Partial<Pick<KeyClientOptions<KeyDelivery>,
  "fetch" | "random" | "extraJitterMs" | "expiryMarginMs" | "minRekeyIntervalMs" | "maxAttempts" | "backoffBaseMs" | "backoffMaxMs" | "clockSkewMs">>;

/** Evaluator settings a receiver may tune (bounds, rates, grace and probation periods). */
export type UeEvaluatorTuning = Omit<Partial<MkiEvaluatorOptions>, "tekSource" | "onPacket" | "onUnknownTgk" | "core" | "now" | "clock">;

export interface UeReceiverOptions {
  baseUrl: string;
  serviceId: string;
  userId: string;
  keying: UeKeying;
  /** Every decrypted RTP packet (a view: copy to keep). */
  onPacket: (rtp: Uint8Array) => void;
  /** The service's TEK_RAND2 period, if known (the evaluator's grace period for late packets). */
  rotationPeriodMs?: number;
  /**
   * Not needed: the key message carries the service's MKI layout, TEK derivation and SRTP profile. When
   * given, a service that disagrees is refused at keying (ERR_SERVICE_PARAMETERS) instead of failing every tag.
   */
  layout?: Partial<MkiLayout>;
  derivation?: TekDerivation;
  /** Wall clock and timers (default systemClock): TGK lifetimes, the key client's re-keys and the evaluator. */
  clock?: Clock;
  /** A TGK still derives this long after its expiry (clock skew, late packets; default 60 s). */
  tgkExpirySkewMs?: number;
  core?: CryptoCore;
  keyClient?: UeKeyClientTuning;
  evaluator?: UeEvaluatorTuning;
  /** Each key message accepted (ME: the opened delivery; UICC: its clear facts). */
  onDelivery?: (delivery: KeyDelivery) => void;
  /** Failures of re-keys (retried later). */
  onError?: (error: MbmsError) => void;
}

export interface UeReceiverStats extends MkiEvaluatorStats {
  /** Master keys in the receive context, packets (and bytes) held for a TEK, TGKs the source holds. */
  installedKeys: number;
  queuedPackets: number;
  queuedBytes: number;
  tgksHeld: number;
  keyClient: KeyClientStats;
}

export class UeReceiver {
  readonly mode: UeKeying["mode"];
  readonly source: TekSource;
  readonly client: KeyClient<KeyDelivery>;
  readonly evaluator: MkiEvaluator;
  constructor(o: UeReceiverOptions) {
    this.mode = o.keying.mode;
    const clock = o.clock ?? systemClock;
    // Each message's ROCs (late join after a wrap, RFC 3711 §3.3.1) reach the evaluator before its TGKs
    // unlock any packet, queued ones included: the sources tell them before they announce the TGKs.
    const onStreams = (streams: readonly SrtpStreamPosition[]) => {
      for (const s of streams) this.evaluator.setRoc(s.ssrc, s.roc);
    };
    const shared = { layout: o.layout, clock, onStreams, ...(o.tgkExpirySkewMs !== undefined ? { expirySkewMs: o.tgkExpirySkewMs } : {}) };
    const common = {
      ...o.keyClient, baseUrl: o.baseUrl, serviceId: o.serviceId, userId: o.userId, clock, ...(o.core ? { core: o.core } : {}),
      ...(o.onDelivery ? { onDelivery: o.onDelivery } : {}),
      ...(o.onError ? { onError: o.onError } : {}),
    };
    if (o.keying.mode === "UICC") {
      const { card, closeCard, alt2Tek } = o.keying;
      const source = new UiccTekSource(card, { ...shared, serviceId: o.serviceId, closeProxy: closeCard ?? true, ...(alt2Tek ? { alt2Tek } : {}), ...(o.core ? { core: o.core } : {}) });
      this.source = source;
      this.client = new KeyClient<KeyDelivery>({ ...common, credentials: cardCredentials(source, o.userId), tekSource: source });
    } else {
      const source = new MeTekSource({ ...shared, serviceId: o.serviceId, ...(o.derivation ? { derivation: o.derivation } : {}), ...(o.core ? { core: o.core } : {}) });
      this.source = source;
      this.client = new KeyClient<KeyDelivery>({ ...common, credentials: { kind: "kek", kek: o.keying.kek }, tekSource: source });
    }
    this.evaluator = new MkiEvaluator({
      ...o.evaluator, tekSource: this.source, onPacket: o.onPacket, onUnknownTgk: this.client.rekeyNow, now: () => clock.now(), clock,
      ...(o.rotationPeriodMs ? { rotationPeriodMs: o.rotationPeriodMs } : {}), ...(o.layout ? { layout: o.layout } : {}),
      ...(o.core ? { core: o.core } : {}),
    });
  }

  /** Initial keying (with retries); re-keys then run on their own. Rejects if every attempt fails. */
  start(): Promise<KeyDelivery> {
    return this.client.start();
  }

  /** One SRTP packet: MkiEvaluator.receive (decrypted in place, queued, or refused; see there). */
  receive(buf: Uint8Array, len: number = buf.length): number {
    return this.evaluator.receive(buf, len);
  }

  /** Several packets at once (MkiEvaluator.receiveBatch). */
  receiveBatch(batch: PacketBatch): void {
    this.evaluator.receiveBatch(batch);
  }

  /** Runs the evaluator's timers without a packet (grace expiry, retries of a failed derivation). */
  tick(): void {
    this.evaluator.tick();
  }

  /** Resolves once no TEK derivation is in flight. */
  settled(): Promise<void> {
    return this.evaluator.settled();
  }

  get stats(): UeReceiverStats {
    const e = this.evaluator;
    return {
      ...e.stats, installedKeys: e.installedKeys, queuedPackets: e.queuedPackets, queuedBytes: e.queuedPacketBytes,
      tgksHeld: this.source.tgkExpiries().size, keyClient: this.client.stats,
    };
  }

  /** Stops re-keying and zeroes every key: the receive context, the ME's TGKs; closes the card unless shared. */
  async close(): Promise<void> {
    this.client.stop();
    this.evaluator.close();
    if (this.source instanceof UiccTekSource) await this.source.close();
    else (this.source as MeTekSource).close();
  }
}
