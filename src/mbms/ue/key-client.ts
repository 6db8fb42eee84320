/**
 * The UE's key client (docs/architecture.md; the implosion mitigations of docs/mbms-flows.md): initial keying and re-keying over HTTP against
 * the BM-SC key server (protocol: src/mbms/http-protocol.ts).
 *
 *   POST /mbms/v1/keys  {"serviceId", "have": [TGK-IDs held]}, signed by a RequestSigner
 *   200 application/mikey → delivered according to the credentials:
 *     - ME-based ({ kind: "kek", kek }): kekSigner (signRequest, K_req from the KEK in the ME);
 *       openMbmsKeyMessage(bytes, { kek }) → tekSource.accept(delivery)
 *     - UICC-based ({ kind: "card", signer, deliver }): the card signs (AUTHENTICATE mode F4, cardSigner) and
 *       the raw bytes go to `deliver` (mode 01, UiccTekSource.deliver); the ME reads only the clear parts
 *       (keyMessageFacts) and learns the sealed ones (service id, TGK lifetimes) from the card; no KEK.
 *   Scheduling is the same in both modes: it needs only tekSource.knownTgkIds / tgkExpiries.
 *
 * Scheduling (the implosion mitigations): the next re-key is at a uniformly random instant
 * (crypto.getRandomValues) in the window the BM-SC names (x-mbms-rekey-from, x-mbms-rekey-window), plus
 * optional extra jitter, and never later than a random instant in [E − 2·margin, E − margin] where E is
 * the earliest expiry of the TGKs held. An unknown TGK-ID (MkiEvaluator.onUnknownTgk → `rekeyNow`)
 * re-keys at once, at most once per `minRekeyIntervalMs`. Network errors, 429 and 5xx are retried with
 * exponential backoff and equal jitter; 4xx are not retried within an attempt.
 *
 * Browser-safe: uses fetch and a Clock (both injectable) and crypto.getRandomValues.
 */
import { systemClock, type Clock } from "../../clock.js";
import { defaultCore } from "../../wasm/default-core.js";
import { DEFAULT_CLOCK_SKEW_MS } from "../../mikey/psk.js";
import { ReplayCache } from "../../mikey/replay-cache.js";
import type { CryptoCore } from "../../wasm/core.js";
import { MbmsError, type MbmsErrorCode } from "../errors.js";
import {
  CONTENT_TYPE_JSON, CONTENT_TYPE_MIKEY, HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, KEYS_METHOD, KEYS_PATH, kekSigner, type RequestSigner,
} from "../http-protocol.js";
import { openMbmsKeyMessage, type MbmsKeyDelivery } from "../key-message.js";
import { keyMessageFacts, type KeyMessageFacts } from "../key-message-facts.js";
import type { SealedKeyFacts } from "../sealed-key-ids.js";
import type { KeyClientOptions, KeyClientStats, KeyCredentials, KeyDelivery } from "./key-client-options.js";

export type * from "./key-client-options.js";

/** An MbmsError with the HTTP status (0 for a network failure) and whether a retry may help. */
export class KeyClientError extends MbmsError {
  readonly httpStatus: number;
  readonly retryable: boolean;
  constructor(code: MbmsErrorCode, message: string, httpStatus: number, retryable: boolean) {
    super(code, message);
    this.httpStatus = httpStatus;
    this.retryable = retryable;
  }
}


function cryptoRandom(): number {
  const w = globalThis.crypto.getRandomValues(new Uint32Array(2));
  // 53 random bits → [0, 1)
  return (w[0]! * 2 ** 21 + (w[1]! >>> 11)) / 2 ** 53;
}

const sleep = (clock: Clock, ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));

/**
 * `KeyClient` (ME mode, resolving MbmsKeyDelivery) or `KeyClient<CardKeyDelivery>` (card mode). The type
 * parameter only types the results; the mode is `options.credentials`.
 */
export class KeyClient<D extends KeyDelivery = MbmsKeyDelivery> {
  private readonly o: KeyClientOptions<D>;
  private readonly credentials: KeyCredentials;
  private readonly signer: RequestSigner;
  private readonly fetchFn: typeof fetch;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly core: CryptoCore;
  private readonly replayCache: ReplayCache;
  private inFlight: Promise<D> | undefined;
  private timer: unknown;
  private timerAt: number | undefined;
  private lastStartAt = -Infinity;
  /**
   * An update (a re-key without TEK_RAND, RFC 3830 §4.5) came that this UE cannot open — a card restarted
   * without its TEK_RANDs: the next request names no TGK, so that the BM-SC answers with an initial message.
   */
  private initialNeeded = false;
  private stopped = false;
  private readonly s: KeyClientStats = { requests: 0, deliveries: 0, failures: 0, rekeyNowCalls: 0, rekeyNowDeferred: 0 };

  constructor(options: KeyClientOptions<D>) {
    this.o = options;
    if ((options.credentials === undefined) === (options.kek === undefined)) {
      throw new MbmsError("ERR_ARGUMENT", "pass exactly one of options.credentials and options.kek");
    }
    this.credentials = options.credentials ?? { kind: "kek", kek: options.kek! };
    const c = this.credentials;
    if (c.kind === "kek") {
      if (typeof options.tekSource.accept !== "function") throw new MbmsError("ERR_ARGUMENT", "KEK mode needs a tekSource with accept()");
    } else if (c.kind !== "card" || typeof c.signer?.sign !== "function" || typeof c.deliver !== "function") {
      throw new MbmsError("ERR_ARGUMENT", "card credentials are { kind: \"card\", signer, deliver }");
    }
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new MbmsError("ERR_ARGUMENT", "no fetch available: pass options.fetch");
    // Browsers refuse a fetch called on another `this` ("Illegal invocation"): bind the global one.
    this.fetchFn = options.fetch ?? f.bind(globalThis);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.core = options.core ?? defaultCore();
    this.replayCache = options.replayCache ?? new ReplayCache(options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
    this.signer = c.kind === "kek" ? kekSigner(c.kek, options.userId, this.core) : c.signer;
  }

  /** "kek" (ME-based) or "card" (UICC-based). */
  get mode(): KeyCredentials["kind"] {
    return this.credentials.kind;
  }

  get stats(): KeyClientStats {
    return { ...this.s };
  }

  /** When the next re-key is scheduled (ms since the epoch), if one is. */
  get nextRekeyAt(): number | undefined {
    return this.timerAt;
  }

  /** Initial keying (with retries); then re-keys run on their own. Rejects if every attempt fails. */
  start(): Promise<D> {
    this.stopped = false;
    return this.rekey();
  }

  /** Stops scheduling; an attempt in flight completes but schedules nothing. */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /**
   * Re-key as soon as the rate limit allows (an unknown TGK-ID, a TGK near expiry). Joins a re-key in
   * flight; within `minRekeyIntervalMs` of the last one it is deferred to the end of that interval.
   * Errors go to onError. Suitable as `MkiEvaluator`'s `onUnknownTgk`.
   */
  rekeyNow = (): void => {
    if (this.stopped) return;
    this.s.rekeyNowCalls++;
    if (this.inFlight) {
      this.s.rekeyNowDeferred++;
      return;
    }
    const earliest = this.lastStartAt + (this.o.minRekeyIntervalMs ?? 10_000);
    const now = this.clock.now();
    if (now >= earliest) {
      this.rekey().catch(() => undefined);
      return;
    }
    this.s.rekeyNowDeferred++;
    if (this.timerAt === undefined || this.timerAt > earliest) this.arm(earliest);
  };

  /** One re-key with retries; single-flight. */
  private rekey(): Promise<D> {
    if (this.inFlight) return this.inFlight;
    this.disarm();
    this.lastStartAt = this.clock.now();
    const p = this.withRetries().then(
      (d) => {
        this.inFlight = undefined;
        return d;
      },
      (e: unknown) => {
        this.inFlight = undefined;
        const err = e instanceof MbmsError ? e : new KeyClientError("ERR_HTTP", String(e), 0, true);
        // Come back later anyway: at the backoff cap, or earlier if a TGK is about to expire.
        if (!this.stopped) {
          const at = Math.min(this.clock.now() + this.backoffMax(), this.latestBeforeExpiry() ?? Infinity);
          this.arm(Math.max(at, this.lastStartAt + (this.o.minRekeyIntervalMs ?? 10_000)), true);
        }
        this.o.onError?.(err);
        throw err;
      },
    );
    this.inFlight = p;
    return p;
  }

  private backoffMax(): number {
    return this.o.backoffMaxMs ?? 60_000;
  }

  private async withRetries(): Promise<D> {
    const attempts = this.o.maxAttempts ?? 6;
    const base = this.o.backoffBaseMs ?? 500;
    for (let n = 0; ; n++) {
      try {
        return await this.attempt();
      } catch (e) {
        this.s.failures++;
        const retryable = e instanceof KeyClientError ? e.retryable : false;
        if (!retryable || n + 1 >= attempts || this.stopped) throw e;
        const cap = Math.min(this.backoffMax(), base * 2 ** n);
        await sleep(this.clock, cap / 2 + this.random() * (cap / 2));
      }
    }
  }

  private async attempt(): Promise<D> {
    const o = this.o;
    const body = JSON.stringify({ serviceId: o.serviceId, have: this.initialNeeded ? [] : o.tekSource.knownTgkIds() });
    let auth: Record<string, string>;
    try {
      auth = await this.signer.sign({ method: KEYS_METHOD, path: KEYS_PATH, body, timeMs: Math.floor(this.clock.now()) });
    } catch (e) {
      if (e instanceof MbmsError || this.credentials.kind === "kek") throw e;
      // The card did not sign (UiccError): a timeout may pass, a refusal will not.
      const code = (e as { code?: unknown } | null)?.code;
      throw new KeyClientError("ERR_HTTP", `the card did not sign the key request: ${e instanceof Error ? e.message : String(e)}`, 0, code === "ERR_TIMEOUT");
    }
    this.s.requests++;
    let res: Response;
    try {
      res = await this.fetchFn(o.baseUrl.replace(/\/+$/, "") + KEYS_PATH, {
        method: KEYS_METHOD,
        headers: { ...auth, "content-type": CONTENT_TYPE_JSON },
        body,
      });
    } catch (e) {
      throw new KeyClientError("ERR_HTTP", `key request failed: ${e instanceof Error ? e.message : String(e)}`, 0, true);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw new KeyClientError("ERR_UNAUTHORIZED", `the BM-SC refused the key request (${res.status})`, res.status, false);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      const retryable = res.status === 429 || res.status >= 500;
      throw new KeyClientError("ERR_HTTP", `key request answered ${res.status}`, res.status, retryable);
    }
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== CONTENT_TYPE_MIKEY) {
      await res.body?.cancel().catch(() => undefined);
      throw new KeyClientError("ERR_PROTOCOL", `expected ${CONTENT_TYPE_MIKEY}, got ${type || "no content type"}`, 200, false);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const delivery = (await this.deliver(bytes)) as D;
    this.initialNeeded = false;
    this.s.deliveries++;
    o.onDelivery?.(delivery);
    if (!this.stopped) this.schedule(res.headers);
    return delivery;
  }

  /** ME mode: open with the KEK, accept. Card mode: check the clear parts, forward the bytes to the card. */
  private async deliver(bytes: Uint8Array): Promise<KeyDelivery> {
    const o = this.o;
    const c = this.credentials;
    if (c.kind === "kek") {
      let delivery: MbmsKeyDelivery;
      try {
        delivery = openMbmsKeyMessage(bytes, {
          kek: c.kek, nowMs: this.clock.now(), tekRand: (csbId) => o.tekSource.tekRandFor?.(csbId),
          ...(o.clockSkewMs !== undefined ? { clockSkewMs: o.clockSkewMs } : {}),
          replayCache: this.replayCache,
        }, this.core);
      } catch (e) {
        if ((e as { code?: unknown }).code === "ERR_NO_RAND") throw this.askInitial();
        throw e;
      }
      if (delivery.serviceId !== o.serviceId || delivery.userId !== o.userId) {
        throw new KeyClientError("ERR_PROTOCOL", "the key message is for another service or user", 200, false);
      }
      o.tekSource.accept!(delivery);
      return delivery;
    }
    const protocol = (why: string) => new KeyClientError("ERR_PROTOCOL", why, 200, false);
    const said = (e: unknown) => (e instanceof Error ? e.message : String(e));
    let facts: KeyMessageFacts;
    try {
      facts = keyMessageFacts(bytes);
    } catch (e) {
      throw protocol(`the key message does not decode: ${said(e)}`);
    }
    // Clear fields, not yet authenticated: the card checks the MAC (its KEK) and freshness (its counter).
    // The service id is sealed: only the card's answer tells it.
    if (facts.userId !== o.userId) throw protocol("the key message is for another user");
    let sealed: SealedKeyFacts;
    try {
      sealed = await c.deliver(bytes);
    } catch (e) {
      if (e instanceof MbmsError) throw e;
      const code = (e as { code?: unknown } | null)?.code;
      // The card refuses an update it holds no TEK_RAND for as malformed (6A80).
      if (facts.tekRand === undefined && code === "ERR_INCORRECT_DATA") throw this.askInitial();
      throw protocol(`the card refused the key message${typeof code === "string" ? ` (${code})` : ""}: ${said(e)}`);
    }
    if (typeof sealed?.serviceId !== "string" || !Array.isArray(sealed.tgks)) throw protocol("card mode: deliver() must resolve with the card's answer");
    if (sealed.serviceId !== o.serviceId) throw protocol("the card took a key message of another service");
    return { kind: "card", bytes: bytes.length, ...facts, serviceId: sealed.serviceId, tgks: sealed.tgks };
  }

  /** Marks the next request as initial keying and returns the (retryable) error for this one. */
  private askInitial(): KeyClientError {
    this.initialNeeded = true;
    return new KeyClientError("ERR_PROTOCOL", "a re-key without TEK_RAND this UE does not hold: asking for an initial key message", 200, true);
  }

  /**
   * The latest instant to re-key: E − margin·(1 + U), E the expiry of the last-expiring TGK held (when
   * the UE would run out of keys). Capping by the earliest expiry instead would make every UE that
   * already holds the next TGK ask again just before the current one expires: the implosion the
   * server's retrieval window exists to prevent.
   */
  private latestBeforeExpiry(): number | undefined {
    const now = this.clock.now();
    const future = [...this.o.tekSource.tgkExpiries().values()].filter((e) => e > now);
    if (future.length === 0) return undefined;
    const margin = this.o.expiryMarginMs ?? 60_000;
    return Math.max(...future) - margin * (1 + this.random());
  }

  private schedule(headers: Headers): void {
    const now = this.clock.now();
    const from = Number(headers.get(HEADER_REKEY_FROM));
    const window = Number(headers.get(HEADER_REKEY_WINDOW));
    const latest = this.latestBeforeExpiry();
    let at: number;
    if (headers.has(HEADER_REKEY_FROM) && Number.isFinite(from) && Number.isFinite(window) && window >= 0) {
      at = from + this.random() * window + this.random() * (this.o.extraJitterMs ?? 0);
    } else if (latest !== undefined) {
      // No window named: anywhere in the second half of the time left.
      at = now + (latest - now) * (0.5 + this.random() / 2);
    } else {
      at = now + this.backoffMax();
    }
    if (latest !== undefined) at = Math.min(at, latest);
    // Never a tight loop: at least the on-demand interval after this re-key started.
    at = Math.max(at, this.lastStartAt + (this.o.minRekeyIntervalMs ?? 10_000));
    this.arm(at, true);
  }

  private arm(at: number, force = false): void {
    if (this.stopped) return;
    if (!force && this.timerAt !== undefined && this.timerAt <= at && this.timer !== undefined) return;
    this.disarm();
    this.timerAt = at;
    const fire = () => {
      const left = at - this.clock.now();
      if (left > 0) {
        this.timer = this.clock.setTimer(fire, left);
        return;
      }
      this.timer = undefined;
      this.timerAt = undefined;
      this.rekey().catch(() => undefined);
    };
    this.timer = this.clock.setTimer(fire, at - this.clock.now());
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }
}
