/**
 * The UICC-based TekSource (docs/architecture.md, UICC-based mode): the ME side of a card that holds the
 * TGKs. It forwards key messages to the card, tracks TGK-IDs and expiries from the card's answer (the key
 * message seals them under the KEK, delivery-response.ts), and asks
 * the card for each MKI's key (mode F2, or F5 and its own half of Alternative 2). Browser-safe.
 */
import { systemClock, type WallClock } from "../../clock.js";
import { msFromNtp } from "../../mikey/ntp.js";
import { SRTP_PROFILES } from "../../srtp/profiles.js";
import type { CryptoCore } from "../../wasm/core.js";
import { mkiLength, splitMki, tekFromSkTgk, type MkiLayout } from "../key-hierarchy.js";
import { keyMessageFacts, type KeyMessageFacts } from "../key-message-facts.js";
import type { SrtpStreamPosition } from "../stream-positions.js";
import { ServiceParametersLatch, type ServiceParameters } from "../service-parameters.js";
import type { TekResult, TekSource } from "../ue/tek-source.js";
import type { KeyCredentials } from "../ue/key-client.js";
import { UiccError } from "./errors.js";
import { cardSigner, type UiccProxy } from "./uicc-proxy.js";
import type { SealedKeyFacts } from "../sealed-key-ids.js";

/**
 * KeyClient credentials for a UICC-based UE: requests signed by the card (mode F4), key messages forwarded
 * to it as bytes (mode 01, `UiccTekSource.deliver`). Pass the same UiccTekSource as the client's tekSource.
 */
export function cardCredentials(source: UiccTekSource, userId: string): KeyCredentials & { kind: "card" } {
  return { kind: "card", signer: cardSigner(source.proxy, userId), deliver: (bytes) => source.deliver(bytes) };
}

export interface UiccTekSourceOptions {
  /**
   * The service whose TGKs this source tracks (TGK-IDs are per service; one source per service, any number
   * over one card). Default: the service of the first key message delivered.
   */
  serviceId?: string;
  /** Whether close() also closes the proxy (default true; false for a card shared by several sources). */
  closeProxy?: boolean;
  /** Not needed (the key message says); when given, a key message with another layout is refused. */
  layout?: Partial<MkiLayout>;
  /** Wall clock for TGK lifetimes (default systemClock): the ME's, since the card has none. */
  clock?: WallClock;
  /**
   * Alternative 2: who derives the TEK from SK-TGK. "me" (default, the founding document's Figure 5): the
   * card returns SK-TGK (mode F5) and the ME derives the TEK with the TEK_RAND it read from the key
   * message; "card": the card returns the TEK (mode F2), as for Alternative 1. docs/precalculation-attack.md
   * compares them.
   */
  alt2Tek?: "me" | "card";
  /** Core for the ME's half of Alternative 2 (default: the shared one). */
  core?: CryptoCore;
  /** A TGK still derives this long after its expiry (clock skew, late packets). Default 60 s. */
  expirySkewMs?: number;
  /**
   * Told each key message's streams (SSRC, ROC; stream-positions.ts) once the card accepted it, before the
   * TGKs are announced to subscribers: the packets they unlock (queued ones too) then meet the signalled ROC.
   */
  onStreams?: (streams: readonly SrtpStreamPosition[]) => void;
}

/**
 * The UICC-based TekSource. It tracks TGK-IDs and expiries from the card's answers to the key messages it
 * delivered (and their clear T, CSB ID and parameters), mirroring the card's rule of dropping TGKs expired before an accepted message's T), and
 * asks the card only for MKIs naming a TGK it knows and that has not expired: the card has no clock, so
 * the ME enforces lifetimes.
 */
export class UiccTekSource implements TekSource {
  private readonly expiries = new Map<number, number>();
  private readonly listeners = new Set<() => void>();
  private readonly latch: ServiceParametersLatch;
  private readonly clock: WallClock;
  private readonly skew: number;
  private readonly closeProxy: boolean;
  private readonly alt2Tek: "me" | "card";
  private readonly core: CryptoCore | undefined;
  private readonly onStreams: UiccTekSourceOptions["onStreams"];
  private service: string | undefined;
  private csbId: number | undefined;
  /** TEK_RAND from the service's initial key message (clear): the ME's half of Alternative 2 needs it. */
  private tekRand: Uint8Array | undefined;

  constructor(readonly proxy: UiccProxy, options: UiccTekSourceOptions = {}) {
    this.latch = new ServiceParametersLatch({ layout: options.layout });
    this.clock = options.clock ?? systemClock;
    this.skew = options.expirySkewMs ?? 60_000;
    this.service = options.serviceId;
    this.closeProxy = options.closeProxy ?? true;
    this.alt2Tek = options.alt2Tek ?? "me";
    if (this.alt2Tek !== "me" && this.alt2Tek !== "card") throw new UiccError("ERR_ARGUMENT", "alt2Tek is \"me\" or \"card\"");
    this.core = options.core;
    this.onStreams = options.onStreams;
  }

  /** The service this source tracks (undefined until the first delivery when not configured). */
  get serviceId(): string | undefined {
    return this.service;
  }

  get parameters(): ServiceParameters | undefined {
    return this.latch.current;
  }

  /**
   * Forwards a key message to the card; on 9000 records the TGK-IDs and expiries the card answered with and
   * resolves with them (and the service id). Rejects with the card's UiccError, or ERR_ARGUMENT: before
   * sending, for a clear CSB ID or service parameters other than this source's; after the card answered,
   * for a message of another service than this source's (the service id is sealed: only the card's answer
   * tells it). In that last case the card has accepted the message (its MAC verified under the KEK): it holds
   * those TGKs under the message's CSB ID and its freshness counter for that CSB ID moved, so the same
   * message is stale (9865) for any other source now; this source records nothing (no service, CSB ID,
   * parameters or TEK_RAND), and forgets any TGK-ID of the answer it tracked under the same CSB ID, since
   * the card replaced that TGK.
   */
  async deliver(bytes: Uint8Array): Promise<SealedKeyFacts> {
    let facts: KeyMessageFacts | undefined;
    try {
      facts = keyMessageFacts(bytes);
    } catch {
      // let the card refuse it (6A80)
    }
    if (facts && this.csbId !== undefined && facts.csbId !== this.csbId) throw new UiccError("ERR_ARGUMENT", "a key message with another CSB ID than the service's");
    if (facts?.parameters) this.latch.check(facts.parameters);
    const answer = await this.proxy.deliverKeyMessage(bytes);
    if (!facts) return answer;
    if (this.service !== undefined && answer.serviceId !== this.service) {
      const replaced = facts.csbId === this.csbId && answer.tgks.filter((g) => this.expiries.delete(g.tgkId)).length > 0;
      if (replaced) this.notify();
      throw new UiccError("ERR_ARGUMENT", "the card took a key message of another service: one UiccTekSource per service");
    }
    this.service ??= answer.serviceId;
    this.csbId ??= facts.csbId;
    if (facts.parameters) this.latch.adopt(facts.parameters);
    if (facts.tekRand) this.tekRand = facts.tekRand;
    const t = msFromNtp(facts.timestamp);
    for (const [id, expiresAt] of this.expiries) if (expiresAt < t) this.expiries.delete(id);
    for (const g of answer.tgks) this.expiries.set(g.tgkId, g.expiresAt);
    this.onStreams?.(facts.streams);
    this.notify();
    return answer;
  }

  async deriveTek(mki: Uint8Array): Promise<TekResult | undefined> {
    const service = this.latch.current;
    if (!service || mki.length !== mkiLength(service.layout)) return undefined;
    const { tgkId } = splitMki(mki, service.layout);
    const expiresAt = this.expiries.get(tgkId);
    if (expiresAt === undefined || this.clock.now() > expiresAt + this.skew) return undefined;
    const tek = service.derivation === "alt2" && this.alt2Tek === "me" ? await this.tekFromCardSkTgk(mki, service) : await this.proxy.generateTek(mki, this.csbId);
    if (!tek && this.expiries.delete(tgkId)) this.notify(); // the card no longer holds it
    return tek;
  }

  /** Alternative 2 as in the founding document's Figure 5: SK-TGK from the card, the TEK derived here. */
  private async tekFromCardSkTgk(mki: Uint8Array, service: ServiceParameters): Promise<TekResult | undefined> {
    if (!this.tekRand || this.csbId === undefined) throw new UiccError("ERR_ARGUMENT", "no TEK_RAND kept for the service: its initial key message went elsewhere");
    const skTgk = await this.proxy.generateSkTgk(mki, this.csbId);
    if (!skTgk) return undefined;
    try {
      const tekLength = SRTP_PROFILES[service.profile].keyLength as 16 | 32;
      return tekFromSkTgk({ skTgk, csbId: this.csbId, csId: 1, tekRand: this.tekRand }, { tekLength, ...(this.core ? { core: this.core } : {}) });
    } finally {
      skTgk.fill(0);
    }
  }

  knownTgkIds(): number[] {
    const t = this.clock.now();
    return [...this.expiries].filter(([, e]) => t <= e + this.skew).map(([id]) => id);
  }

  tgkExpiries(): Map<number, number> {
    return new Map(this.expiries);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Deletes a TGK on the card (mode F3) and forgets it. */
  async deleteTgk(tgkId: number): Promise<boolean> {
    const deleted = await this.proxy.deleteTgk(tgkId, this.csbId);
    if (this.expiries.delete(tgkId) || deleted) this.notify();
    return deleted;
  }

  /** Deletes, on the card too, every TGK past expiry + skew (frees card memory). Returns how many. */
  async prune(): Promise<number> {
    const t = this.clock.now();
    const expired = [...this.expiries].filter(([, e]) => t > e + this.skew).map(([id]) => id);
    for (const id of expired) {
      await this.proxy.deleteTgk(id, this.csbId);
      this.expiries.delete(id);
    }
    if (expired.length > 0) this.notify();
    return expired.length;
  }

  /** Forgets the TGKs and closes the proxy (terminating the card's worker) unless `closeProxy: false`. */
  async close(): Promise<void> {
    this.expiries.clear();
    this.notify();
    if (this.closeProxy) await this.proxy.close();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
