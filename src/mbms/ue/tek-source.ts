/**
 * Where the UE gets the TEK (SRTP master key + salt) for an MKI. The receiver code is the same in both
 * modes of the founding document (the migration requirement): only the TekSource differs.
 *
 *   - ME-based ({@link MeTekSource}): the ME holds the TGKs delivered by MBMS key messages and derives
 *     TEKs itself (`deriveSrtpMasterKeys`, Alternative 1 or 2).
 *   - UICC-based: the card holds KEK and TGKs; a TekSource over the card proxy forwards the MKI and gets
 *     back the TEK, asynchronously and slowly (~100–500 µs per APDU round trip).
 *
 * Browser-safe: no Node APIs.
 */
import { systemClock, type WallClock } from "../../clock.js";
import { deriveSrtpMasterKeys, mkiLength, splitMki, type MkiLayout, type TekDerivation } from "../key-hierarchy.js";
import { ServiceParametersLatch, type ServiceParameters } from "../service-parameters.js";
import type { MbmsKeyDelivery } from "../key-message.js";
import type { SrtpStreamPosition } from "../stream-positions.js";
import { SRTP_PROFILES } from "../../srtp/profiles.js";
import type { CryptoCore } from "../../wasm/core.js";
import { defaultCore } from "../../wasm/default-core.js";
import { MbmsError } from "../errors.js";

export interface TekResult {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
}

export interface TekSource {
  /**
   * The TEK for this MKI (TGK-ID ‖ TEK_RAND2/TGK_RAND), or undefined when the TGK-ID is unknown (or its
   * TGK has expired). Rejects only on a fault of the source itself (card removed, …). The MKI is
   * untrusted: the caller (MkiEvaluator) bounds how often this runs.
   */
  deriveTek(mki: Uint8Array): Promise<TekResult | undefined>;
  /**
   * Optional synchronous form, for sources that can answer without I/O (ME-based). The evaluator then
   * decrypts the first packet under a new MKI inside `receive` instead of queueing it.
   */
  deriveTekSync?(mki: Uint8Array): TekResult | undefined;
  /** TGK-IDs this source can derive from now. */
  knownTgkIds(): number[];
  /** TGK-ID → expiry (ms since the epoch) of every TGK held. */
  tgkExpiries(): Map<number, number>;
  /** Optional change notification (a TGK added or dropped); returns an unsubscribe function. */
  subscribe?(listener: () => void): () => void;
  /**
   * The service's SRTP profile, TEK derivation and MKI layout, once a key message told them: the receive
   * context's cipher, and where the MKI sits in a packet (before the profile's tag, RFC 3711 §3.1).
   */
  readonly parameters?: ServiceParameters | undefined;
}

export interface MeTekSourceOptions {
  /**
   * The service whose TGKs this source holds. TGK-IDs are numbered per service and the MKI names only the
   * TGK-ID, so one source serves one service (and one MkiEvaluator); default: the first delivery's service.
   */
  serviceId?: string;
  /**
   * How the BM-SC derives TEKs and lays out MKIs. Not needed: the key message says so; when given, a key
   * message that disagrees is refused (ERR_SERVICE_PARAMETERS).
   */
  derivation?: TekDerivation;
  layout?: Partial<MkiLayout>;
  core?: CryptoCore;
  /** Wall clock for TGK lifetimes (default systemClock). */
  clock?: WallClock;
  /** A TGK still derives this long after its expiry (clock skew, late packets). Default 60 s. */
  expirySkewMs?: number;
  /**
   * Told each key message's streams (SSRC, ROC; stream-positions.ts) once its keys are accepted, before the
   * TGKs are announced to subscribers: the packets they unlock (queued ones too) then meet the signalled ROC.
   */
  onStreams?: (streams: readonly SrtpStreamPosition[]) => void;
}

interface HeldTgk {
  tgk: Uint8Array;
  csbId: number;
  csId: number;
  tekRand: Uint8Array;
  tekLength: 16 | 32;
  validFrom: number;
  expiresAt: number;
}

/**
 * The ME-based TekSource: holds the TGKs of the key messages it `accept`s and derives TEKs in the ME.
 * TGKs are copies, zeroed when dropped (`prune`, `close`).
 */
export class MeTekSource implements TekSource {
  private readonly tgks = new Map<number, HeldTgk>();
  private readonly listeners = new Set<() => void>();
  private readonly latch: ServiceParametersLatch;
  private readonly core: CryptoCore;
  private readonly clock: WallClock;
  private readonly skew: number;
  private readonly onStreams: MeTekSourceOptions["onStreams"];
  private service: string | undefined;
  private csbId: number | undefined;
  /** The service's TEK_RAND, from its initial key message: re-keys carry none (RFC 3830 §4.5). */
  private tekRand: Uint8Array | undefined;

  constructor(options: MeTekSourceOptions = {}) {
    this.service = options.serviceId;
    this.latch = new ServiceParametersLatch({ derivation: options.derivation, layout: options.layout });
    this.core = options.core ?? defaultCore();
    this.clock = options.clock ?? systemClock;
    this.skew = options.expirySkewMs ?? 60_000;
    this.onStreams = options.onStreams;
  }

  /** The service this source holds TGKs of (undefined until the first delivery when not configured). */
  get serviceId(): string | undefined {
    return this.service;
  }

  get parameters(): ServiceParameters | undefined {
    return this.latch.current;
  }

  /**
   * Takes the TGKs of an opened key message (replacing any held under the same TGK-ID). ERR_ARGUMENT for a
   * delivery of another service (or CSB ID) than the source's: its TGK-IDs would collide with this one's;
   * ERR_SERVICE_PARAMETERS for one whose profile, derivation or MKI layout differs from the source's.
   */
  accept(delivery: MbmsKeyDelivery): void {
    if ((this.service !== undefined && delivery.serviceId !== this.service) || (this.csbId !== undefined && delivery.csbId !== this.csbId)) {
      throw new MbmsError("ERR_ARGUMENT", "a key message of another service: one MeTekSource per service");
    }
    this.latch.adopt(delivery);
    this.service ??= delivery.serviceId;
    this.csbId ??= delivery.csbId;
    if (!delivery.update) this.tekRand = delivery.tekRand.slice();
    const tekLength = SRTP_PROFILES[delivery.profile].keyLength as 16 | 32;
    for (const g of delivery.tgks) {
      this.tgks.get(g.tgkId)?.tgk.fill(0);
      this.tgks.set(g.tgkId, {
        tgk: g.tgk.slice(), csbId: delivery.csbId, csId: delivery.csId, tekRand: delivery.tekRand.slice(), tekLength,
        validFrom: g.validFrom, expiresAt: g.expiresAt,
      });
    }
    this.prune();
    this.onStreams?.(delivery.streams);
    this.notify();
  }

  /** The TEK_RAND kept for the service of CSB ID `csbId`, to open its re-keys (openMbmsKeyMessage's `tekRand`). */
  tekRandFor(csbId: number): Uint8Array | undefined {
    return csbId === this.csbId ? this.tekRand : undefined;
  }

  deriveTekSync(mki: Uint8Array): TekResult | undefined {
    const service = this.latch.current;
    if (!service || mki.length !== mkiLength(service.layout)) return undefined;
    const { tgkId } = splitMki(mki, service.layout);
    const held = this.tgks.get(tgkId);
    if (!held || this.clock.now() > held.expiresAt + this.skew) return undefined;
    return deriveSrtpMasterKeys(
      { tgk: held.tgk, tgkId, csbId: held.csbId, csId: held.csId, tekRand: held.tekRand, mki },
      { layout: service.layout, derivation: service.derivation, tekLength: held.tekLength, core: this.core },
    );
  }

  deriveTek(mki: Uint8Array): Promise<TekResult | undefined> {
    try {
      return Promise.resolve(this.deriveTekSync(mki));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  knownTgkIds(): number[] {
    const t = this.clock.now();
    return [...this.tgks].filter(([, h]) => t <= h.expiresAt + this.skew).map(([id]) => id);
  }

  tgkExpiries(): Map<number, number> {
    return new Map([...this.tgks].map(([id, h]) => [id, h.expiresAt]));
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops (and zeroes) TGKs past expiry + skew. Returns how many were dropped. */
  prune(): number {
    const t = this.clock.now();
    let n = 0;
    for (const [id, h] of this.tgks) {
      if (t > h.expiresAt + this.skew) {
        h.tgk.fill(0);
        this.tgks.delete(id);
        n++;
      }
    }
    if (n > 0) this.notify();
    return n;
  }

  /** Zeroes every TGK held. */
  close(): void {
    for (const h of this.tgks.values()) h.tgk.fill(0);
    this.tgks.clear();
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
