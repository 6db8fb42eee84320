/**
 * What a KeyClient (key-client.ts) takes and reports: its options, the two credential kinds (ME: the KEK;
 * UICC: a card that signs and takes key messages), what it reads of a TEK source, what a keying delivers.
 * Types only. Browser-safe.
 */
import type { Clock } from "../../clock.js";
import type { CryptoCore } from "../../wasm/core.js";
import type { MbmsError } from "../errors.js";
import type { RequestSigner } from "../http-protocol.js";
import type { MbmsKeyDelivery } from "../key-message.js";
import type { KeyMessageFacts } from "../key-message-facts.js";
import type { ReplayCache } from "../../mikey/replay-cache.js";
import type { SealedKeyFacts } from "../sealed-key-ids.js";

/** What the key client's scheduling reads from a TekSource (MeTekSource and UiccTekSource have it). */
export interface TgkInventory {
  knownTgkIds(): number[];
  tgkExpiries(): Map<number, number>;
}

/** The part of a TekSource the key client needs in ME mode (MeTekSource has it). */
export interface KeyedTekSource extends TgkInventory {
  accept(delivery: MbmsKeyDelivery): void;
  /** The service's TEK_RAND kept from its initial key message, to open re-keys (which carry none). */
  tekRandFor?(csbId: number): Uint8Array | undefined;
}

/**
 * How the UE authenticates and where key messages go.
 *   - kek:  ME-based. The ME holds the KEK: signs with it and opens key messages, tekSource.accept(delivery).
 *   - card: UICC-based. `signer` signs on the card (cardSigner, mode F4); `deliver` forwards the raw key
 *           message to the card (UiccTekSource.deliver, mode 01) and resolves with what the card answered:
 *           the service id and TGK validities the key message seals. The ME holds no KEK.
 */
export type KeyCredentials =
  | { kind: "kek"; kek: Uint8Array }
  | { kind: "card"; signer: RequestSigner; deliver: (keyMessage: Uint8Array) => Promise<SealedKeyFacts> };

/** What one keying delivered in card mode (no key): the key message's clear facts and the card's answer (service, TGK validities). */
export interface CardKeyDelivery extends KeyMessageFacts, SealedKeyFacts {
  kind: "card";
  /** Length of the key message forwarded to the card. */
  bytes: number;
}

/** A keying's result: the opened message (ME mode) or the clear facts of the one the card took (card mode). */
export type KeyDelivery = MbmsKeyDelivery | CardKeyDelivery;

export interface KeyClientOptions<D extends KeyDelivery = MbmsKeyDelivery> {
  /** Base URL of the BM-SC, e.g. "https://bmsc.operator.example" (KEYS_PATH is appended). */
  baseUrl: string;
  serviceId: string;
  userId: string;
  /** The mode (exactly one of `credentials` and `kek`). */
  credentials?: KeyCredentials;
  /** Shorthand for credentials { kind: "kek", kek }: the user's KEK signs requests (K_req) and opens key messages. */
  kek?: Uint8Array;
  /** ME mode: a KeyedTekSource (accept is called). Card mode: anything with knownTgkIds/tgkExpiries (UiccTekSource). */
  tekSource: TgkInventory & Partial<Pick<KeyedTekSource, "accept" | "tekRandFor">>;
  /** Injectable for tests and other transports (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Wall clock and timers (default systemClock). */
  clock?: Clock;
  /** Uniform random in [0, 1) (default from crypto.getRandomValues). */
  random?: () => number;
  /** Extra uniform jitter added to the BM-SC's window, ms (default 0). */
  extraJitterMs?: number;
  /** Re-key no later than E − margin·(1 + U[0,1)) before the earliest TGK expiry E (default 60 s). */
  expiryMarginMs?: number;
  /** Minimum interval between re-keys requested with `rekeyNow` (default 10 s). */
  minRekeyIntervalMs?: number;
  /** Retries of one re-key: attempts (default 6), base and cap of the backoff (default 500 ms, 60 s). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * ME mode, passed to openMbmsKeyMessage: clock skew and a replay cache (the card keeps its own counter);
   * without one the client keeps its own (RFC 3830 §5.4: the messages received within the skew).
   */
  clockSkewMs?: number;
  replayCache?: ReplayCache;
  core?: CryptoCore;
  /** Each delivery accepted (e.g. to set the evaluator's ROC for a late join). Card mode: CardKeyDelivery. */
  onDelivery?: (delivery: D) => void;
  /** Failures of scheduled or on-demand re-keys (they are retried later; `start` rejects instead). */
  onError?: (error: MbmsError) => void;
}

export interface KeyClientStats {
  /** HTTP requests sent (attempts, retries included). */
  requests: number;
  /** Key messages accepted. */
  deliveries: number;
  /** Failed attempts. */
  failures: number;
  /** rekeyNow calls, and how many of them were deferred or joined by the rate limit. */
  rekeyNowCalls: number;
  rekeyNowDeferred: number;
}
