/**
 * The ME side of the UICC-proxy boundary (docs/architecture.md, UICC-based mode). `UiccProxy` turns calls into
 * AUTHENTICATE APDUs (apdu.ts), sends them to a card over a CardChannel (a worker's message port:
 * card-worker.ts for Node), matches responses by id, applies timeouts and maps status words to UiccError.
 * `UiccTekSource` (uicc-tek-source.ts) is the UE's TekSource over it: the receiver code is the same as in
 * ME-based mode.
 *
 * The ME never holds the KEK or a TGK: it forwards key messages as opaque bytes and reads their clear parts
 * (T, CSB ID, user, service parameters); the service id and which TGK-IDs the card holds until when are sealed
 * under the KEK, and the card tells them in its answer to the delivery (mode 01, delivery-response.ts); HTTP key requests are signed by the card (`cardSigner`, mode F4). With
 * `KeyClient`'s card credentials (`cardCredentials`) the key client needs no KEK either.
 * Browser-safe: no Node APIs.
 */
import { systemClock, type Clock } from "../../clock.js";
import { MAC_BYTES, authHeaders, requestMacInput, requestTimeAndNonce, type RequestSigner } from "../http-protocol.js";
import type { TekResult } from "../ue/tek-source.js";
import { AuthMode, copyBytes, decodeAuthenticateResponse, encodeAuthenticate } from "./apdu.js";
import type { CardRequest, CardResponse } from "./card-protocol.js";
import { SW, UiccError } from "./errors.js";
import { decodeSkTgkResponse, decodeTekResponse } from "./tek-response.js";
import { decodeDeliveryResponse } from "./delivery-response.js";
import type { SealedKeyFacts } from "../sealed-key-ids.js";

/** How the proxy reaches the card: a message port with transfer (Worker, MessagePort, Web Worker). */
export interface CardChannel {
  /** Sends a request; implementations transfer `request.apdu`. */
  post(request: CardRequest): void;
  /** Called once by the proxy: responses, and faults (the card died). */
  listen(onResponse: (response: CardResponse) => void, onFault: (error: Error) => void): void;
  terminate(): Promise<void>;
}

export interface UiccProxyOptions {
  /** Per-APDU timeout, ms (default 2000). */
  timeoutMs?: number;
  /** Timers for the timeouts (default systemClock). */
  clock?: Clock;
}

interface Pending {
  resolve: (apdu: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

export class UiccProxy {
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private nextId = 0;
  private closed = false;
  private fault: Error | undefined;

  constructor(private readonly channel: CardChannel, options: UiccProxyOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.clock = options.clock ?? systemClock;
    channel.listen((r) => this.onResponse(r), (e) => this.onFault(e));
  }

  /** Sends one command APDU, resolves with the response APDU (any status word). */
  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new UiccError("ERR_CLOSED", "the proxy is closed"));
    if (this.fault) return Promise.reject(this.fault);
    const id = this.nextId;
    this.nextId = this.nextId >= Number.MAX_SAFE_INTEGER ? 0 : this.nextId + 1;
    const buffer = copyBytes(apdu).buffer as ArrayBuffer;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = this.clock.setTimer(() => {
        this.pending.delete(id);
        reject(new UiccError("ERR_TIMEOUT", `no answer from the card in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.channel.post({ id, apdu: buffer });
      } catch (e) {
        this.clock.clearTimer(timer);
        this.pending.delete(id);
        reject(new UiccError("ERR_CARD_FAULT", `could not reach the card: ${(e as Error).message}`));
      }
    });
  }

  /**
   * AUTHENTICATE mode 01: hands a key message to the card; resolves with what the card accepted (the sealed
   * service id and TGK validities, no key). Rejects with the card's UiccError (9862, 9865, 9866, 6A80…), or
   * ERR_BAD_RESPONSE for a 9000 whose value does not decode (the card did take the message then).
   */
  async deliverKeyMessage(bytes: Uint8Array): Promise<SealedKeyFacts> {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > 65000) {
      throw new UiccError("ERR_ARGUMENT", "a key message is 1..65000 bytes");
    }
    const value = decodeAuthenticateResponse(await this.transmit(encodeAuthenticate(AuthMode.KeyMessage, bytes)));
    try {
      return decodeDeliveryResponse(value);
    } finally {
      value?.fill(0);
    }
  }

  /**
   * AUTHENTICATE mode F2: the TEK (SRTP master key + salt) for an MKI of the service `csbId` (TGK-IDs are
   * per service; without it the card answers only if one service holds the TGK-ID); undefined when the card
   * holds no such TGK (6A88).
   */
  async generateTek(mki: Uint8Array, csbId?: number): Promise<TekResult | undefined> {
    return this.keyFromMki(AuthMode.TekFromMki, mki, csbId, (value) => {
      const { masterKey, masterSalt } = decodeTekResponse(value);
      return { masterKey, masterSalt };
    });
  }

  /**
   * AUTHENTICATE mode F5: SK-TGK for an MKI of an Alternative 2 service (the ME derives the TEK, tekFromSkTgk).
   * Resolves undefined when the card holds no such TGK; ERR_CONDITIONS_NOT_SATISFIED for an Alternative 1 one.
   */
  async generateSkTgk(mki: Uint8Array, csbId?: number): Promise<Uint8Array | undefined> {
    return this.keyFromMki(AuthMode.SkTgkFromMki, mki, csbId, decodeSkTgkResponse);
  }

  /** A key-from-MKI mode: undefined for 6A88 (no such TGK), the decoded value (the response is zeroed). */
  private async keyFromMki<T>(mode: number, mki: Uint8Array, csbId: number | undefined, decode: (value: Uint8Array | undefined) => T): Promise<T | undefined> {
    if (!(mki instanceof Uint8Array) || mki.length === 0 || mki.length > 251) throw new UiccError("ERR_ARGUMENT", "an MKI is 1..251 bytes");
    let value: Uint8Array | undefined;
    try {
      value = decodeAuthenticateResponse(await this.transmit(encodeAuthenticate(mode, withCsbId(csbId, mki))));
    } catch (e) {
      if (e instanceof UiccError && e.sw === SW.KEY_NOT_FOUND && e.code === "ERR_KEY_NOT_FOUND") return undefined;
      throw e;
    }
    try {
      return decode(value);
    } finally {
      value?.fill(0);
    }
  }

  /**
   * AUTHENTICATE mode F4: the 20-byte HMAC-SHA1 of a key request's MAC input (requestMacInput) under
   * K_req, which the card derives from its KEK. Rejects with the card's UiccError (6700, 6A80…).
   */
  async signKeyRequest(macInput: Uint8Array): Promise<Uint8Array> {
    if (!(macInput instanceof Uint8Array) || macInput.length === 0 || macInput.length > 65000) {
      throw new UiccError("ERR_ARGUMENT", "a MAC input is 1..65000 bytes");
    }
    const value = decodeAuthenticateResponse(await this.transmit(encodeAuthenticate(AuthMode.SignKeyRequest, macInput)));
    if (!value || value.length !== MAC_BYTES) {
      value?.fill(0);
      throw new UiccError("ERR_BAD_RESPONSE", `a request MAC of ${value?.length ?? 0} bytes`);
    }
    return value;
  }

  /** AUTHENTICATE mode F3: deletes a TGK (of the service `csbId`). False when the card held none under that TGK-ID (6A88). */
  async deleteTgk(tgkId: number, csbId?: number): Promise<boolean> {
    if (!Number.isInteger(tgkId) || tgkId < 0 || tgkId > 0xffffffff) throw new UiccError("ERR_ARGUMENT", "a TGK-ID is 32 bits");
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, tgkId);
    try {
      decodeAuthenticateResponse(await this.transmit(encodeAuthenticate(AuthMode.DeleteTgk, withCsbId(csbId, data))));
      return true;
    } catch (e) {
      if (e instanceof UiccError && e.code === "ERR_KEY_NOT_FOUND") return false;
      throw e;
    }
  }

  /** Rejects pending requests with ERR_CLOSED and terminates the card's worker. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new UiccError("ERR_CLOSED", "the proxy was closed"));
    await this.channel.terminate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onResponse(r: CardResponse): void {
    const p = this.pending.get(r.id);
    if (!p) return; // timed out, or not ours
    this.pending.delete(r.id);
    this.clock.clearTimer(p.timer);
    p.resolve(new Uint8Array(r.apdu));
  }

  private onFault(e: Error): void {
    if (this.closed) return;
    this.fault ??= e;
    this.rejectAll(e);
  }

  private rejectAll(e: Error): void {
    for (const p of this.pending.values()) {
      this.clock.clearTimer(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }
}

/** Modes F2/F3: the CSB ID (4 bytes, big-endian) before the data, when given. */
function withCsbId(csbId: number | undefined, data: Uint8Array): Uint8Array {
  if (csbId === undefined) return data;
  if (!Number.isInteger(csbId) || csbId < 0 || csbId > 0xffffffff) throw new UiccError("ERR_ARGUMENT", "a CSB ID is 32 bits");
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, csbId);
  out.set(data, 4);
  return out;
}

/**
 * UICC mode: a RequestSigner whose MAC comes from the card (AUTHENTICATE mode F4). The ME builds the MAC
 * input and the headers; the card alone holds the KEK and derives K_req.
 */
export function cardSigner(card: Pick<UiccProxy, "signKeyRequest">, userId: string): RequestSigner {
  return {
    async sign(r) {
      const { time, nonce } = requestTimeAndNonce(r.timeMs, r.nonce);
      const input = requestMacInput(r.method, r.path, userId, time, nonce, r.body);
      const mac = await card.signKeyRequest(input);
      try {
        return { ...authHeaders(userId, time, nonce, mac) };
      } finally {
        mac.fill(0);
      }
    },
  };
}
