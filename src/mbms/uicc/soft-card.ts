/**
 * The card side of the UICC-proxy boundary (docs/architecture.md §1, UICC-based mode): a software UICC that holds the
 * user's KEK (provisioned at construction, as at manufacture) and up to `capacity` TGKs, and answers
 * AUTHENTICATE (MBMS context) APDUs: APDU in, APDU out (apdu.ts). Pure: no worker or Node APIs, so the
 * same logic runs in a Node worker thread, a browser Web Worker, or in-process in tests.
 *
 * What leaves the card: status words, for mode 01 the sealed facts of the key message it accepted (service
 * id and TGK validities, delivery-response.ts), for mode F2 the TGK-ID ‖ SRTP master key ‖ master salt of one
 * MKI, and for mode F4 the 20-byte HMAC of a key request under K_req. Never the KEK, K_req or a TGK.
 *
 * Freshness (TS 31.102 EF_MUK "Time Stamp Counter", TS 31.102 §4.2.81): per service (CSB ID) the card keeps
 * the timestamp of the last key message it accepted and accepts only strictly greater ones (9865
 * otherwise); services are keyed independently, so one service's message never makes another's stale. Our
 * key messages carry T as NTP-UTC; a card has no clock, so T is treated as the counter and no skew check
 * runs. The counter moves only when a message is accepted (MAC verified and stored).
 *
 * Several services: TGK-IDs are numbered per service, so TGKs are held by (CSB ID, TGK-ID) — as a real card
 * holds MSKs by Key Domain ID ‖ MSK ID (TS 33.246 §6.3). Modes F2 and F3 take the CSB ID (4 bytes) before the
 * MKI or TGK-ID; without it they answer only when exactly one service holds that TGK-ID (6A80 otherwise).
 *
 * Memory: TGKs whose expiry lies before the T of an accepted message are dropped then (the only trusted
 * time the card has); a message whose new TGK-IDs would not fit is refused whole with 9866.
 */
import { SRTP_PROFILES } from "../../srtp/profiles.js";
import { defaultCore } from "../../wasm/default-core.js";
import { decodeMessage, PayloadType } from "../../mikey/codec/index.js";
import { msFromNtp } from "../../mikey/ntp.js";
import { MikeyError } from "../../mikey/errors.js";
import type { CryptoCore } from "../../wasm/core.js";
import { MbmsError } from "../errors.js";
import { KEYS_METHOD, KEYS_PATH, MAX_BODY_BYTES, requestMacFromKek } from "../http-protocol.js";
import { DEFAULT_MKI_LAYOUT, deriveSkTgk, deriveSrtpMasterKeys, mkiLength, splitMki, type MkiLayout, type TekDerivation } from "../key-hierarchy.js";
import { encodeSealedKeyIds } from "../sealed-key-ids.js";
import { openMbmsKeyMessage } from "../key-message.js";
import { AuthMode, copyBytes, decodeAuthenticate, encodeAuthenticateResponse, encodeResponseApdu } from "./apdu.js";
import { SW, UiccError } from "./errors.js";
import { encodeSkTgkResponse, encodeTekResponse } from "./tek-response.js";

export const DEFAULT_TGK_CAPACITY = 8;

export interface SoftCardOptions {
  /** TGKs the card can hold (default 8); a key message that would exceed it gets 9866. */
  capacity?: number;
  /** Initial freshness counter (e.g. restored card state); default: accept any first message. */
  lastTimestamp?: bigint;
  core?: CryptoCore;
}

interface CardTgk {
  tgk: Uint8Array;
  tgkId: number;
  csbId: number;
  csId: number;
  tekRand: Uint8Array;
  tekLength: 16 | 32;
  /** The service's MKI layout and TEK derivation, as its key message said (MAC-verified under the KEK). */
  layout: MkiLayout;
  derivation: TekDerivation;
  expiresAtNtpMs: number;
}

/** Mode F4: the largest MAC input the card signs (a 4 KiB body plus generous headers). */
export const MAX_SIGN_INPUT_BYTES = MAX_BODY_BYTES + 4096;
const LF = 0x0a;
const ascii = new TextDecoder("utf-8", { fatal: false });

/** Mode F4: is this the MAC input of a key request (POST /mbms/v1/keys, decimal time, 32-hex nonce)? */
function isKeyRequestMacInput(input: Uint8Array): boolean {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < input.length && fields.length < 5; i++) {
    if (input[i] === LF) {
      if (i - start > 1024) return false;
      fields.push(ascii.decode(input.subarray(start, i)));
      start = i + 1;
    }
  }
  if (fields.length < 5) return false;
  const [method, path, user, time, nonce] = fields as [string, string, string, string, string];
  return method === KEYS_METHOD && path === KEYS_PATH && user.length > 0 && /^[0-9]{1,16}$/.test(time) && /^[0-9a-f]{32}$/.test(nonce);
}

/** (CSB ID, TGK-ID) as one map key. */
const slotOf = (csbId: number, tgkId: number): string => `${csbId >>> 0}/${tgkId >>> 0}`;
const CSB_ID_BYTES = 4;

export class SoftCard {
  private kek: Uint8Array;
  private readonly tgks = new Map<string, CardTgk>();
  private readonly capacity: number;
  private readonly core: CryptoCore;
  /** Floor of every service's counter (restored card state), and the counter per CSB ID. */
  private readonly floor: bigint | undefined;
  private readonly last = new Map<number, bigint>();
  /** Per CSB ID: the service's TEK_RAND from its initial key message (re-keys carry none, RFC 3830 §4.5). */
  private readonly tekRands = new Map<number, Uint8Array>();
  private closed = false;

  constructor(kek: Uint8Array, options: SoftCardOptions = {}) {
    if (!(kek instanceof Uint8Array) || kek.length < 16 || kek.length > 64) {
      throw new UiccError("ERR_ARGUMENT", `the KEK is 16..64 bytes, got ${kek instanceof Uint8Array ? kek.length : typeof kek}`);
    }
    const capacity = options.capacity ?? DEFAULT_TGK_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1024) throw new UiccError("ERR_ARGUMENT", "capacity is 1..1024 TGKs");
    this.kek = copyBytes(kek);
    this.capacity = capacity;
    this.core = options.core ?? defaultCore();
    this.floor = options.lastTimestamp;
  }

  /** TGKs held (public, like the count byte of EF_MSK). */
  get tgkCount(): number {
    return this.tgks.size;
  }

  /** The freshness counter: T of the last accepted key message of any service (public, like EF_MUK's counter). */
  get lastTimestamp(): bigint | undefined {
    let t = this.floor;
    for (const v of this.last.values()) if (t === undefined || v > t) t = v;
    return t;
  }

  /** One command APDU in, one response APDU out. Never throws. */
  process(apdu: Uint8Array): Uint8Array {
    try {
      if (this.closed) return encodeResponseApdu(SW.NO_DIAGNOSIS);
      if (!(apdu instanceof Uint8Array)) return encodeResponseApdu(SW.WRONG_LENGTH);
      const { mode, modeData } = decodeAuthenticate(apdu);
      switch (mode) {
        case AuthMode.KeyMessage:
          return this.deliver(modeData);
        case AuthMode.TekFromMki:
          return this.generateTek(modeData);
        case AuthMode.SkTgkFromMki:
          return this.generateSkTgk(modeData);
        case AuthMode.DeleteTgk:
          return this.deleteTgk(modeData);
        case AuthMode.SignKeyRequest:
          return this.signKeyRequest(modeData);
        default:
          return encodeResponseApdu(SW.INCORRECT_DATA);
      }
    } catch (e) {
      return encodeResponseApdu(e instanceof UiccError ? e.sw : SW.NO_DIAGNOSIS);
    }
  }

  /** Zeroes the KEK and every TGK; afterwards every command gets 6F00. */
  close(): void {
    this.kek.fill(0);
    this.kek = new Uint8Array(0);
    for (const t of this.tgks.values()) t.tgk.fill(0);
    this.tgks.clear();
    this.tekRands.clear();
    this.closed = true;
  }

  private deliver(bytes: Uint8Array): Uint8Array {
    // The counter check comes first (RFC 3830 §5.3 step 1), then the MAC (inside openMbmsKeyMessage).
    let timestamp: bigint;
    let csbId: number;
    try {
      const message = decodeMessage(bytes);
      const t = message.payloads.find((p) => p.type === PayloadType.T);
      if (!t || t.type !== PayloadType.T) return encodeResponseApdu(SW.INCORRECT_DATA);
      timestamp = t.value;
      csbId = message.header.csbId;
    } catch {
      return encodeResponseApdu(SW.INCORRECT_DATA);
    }
    const last = this.last.get(csbId) ?? this.floor;
    if (last !== undefined && timestamp <= last) return encodeResponseApdu(SW.FRESHNESS);
    // No clock: "now" is the message's own time, so the skew check is moot (the counter replaces it).
    const asMs = msFromNtp(timestamp);
    let delivery;
    try {
      delivery = openMbmsKeyMessage(bytes, { kek: this.kek, nowMs: asMs, lastCounter: last, tekRand: (id) => this.tekRands.get(id) }, this.core);
    } catch (e) {
      if (e instanceof MikeyError) {
        if (e.code === "ERR_AUTH") return encodeResponseApdu(SW.INCORRECT_MAC);
        if (e.code === "ERR_TIMESTAMP" || e.code === "ERR_REPLAY") return encodeResponseApdu(SW.FRESHNESS);
        return encodeResponseApdu(SW.INCORRECT_DATA);
      }
      if (e instanceof MbmsError) return encodeResponseApdu(SW.INCORRECT_DATA);
      throw e;
    }
    const profile = SRTP_PROFILES[delivery.profile];
    const tekLength = profile.keyLength === 32 ? 32 : 16;
    const ids = new Set(delivery.tgks.map((g) => g.tgkId));
    const wipe = () => {
      for (const g of delivery.tgks) g.tgk.fill(0);
    };
    if (ids.size !== delivery.tgks.length) {
      wipe();
      return encodeResponseApdu(SW.INCORRECT_DATA);
    }
    // Room: TGKs still valid at T that this message does not replace, plus the message's.
    const replaced = (t: CardTgk) => t.csbId === delivery.csbId && ids.has(t.tgkId);
    const kept = [...this.tgks.values()].filter((t) => !replaced(t) && t.expiresAtNtpMs >= asMs).length;
    if (kept + ids.size > this.capacity) {
      wipe();
      return encodeResponseApdu(SW.MEMORY_FULL);
    }
    for (const [slot, t] of this.tgks) {
      if (replaced(t) || t.expiresAtNtpMs < asMs) {
        t.tgk.fill(0);
        this.tgks.delete(slot);
      }
    }
    for (const g of delivery.tgks) {
      this.tgks.set(slotOf(delivery.csbId, g.tgkId), {
        tgk: g.tgk, tgkId: g.tgkId, csbId: delivery.csbId, csId: delivery.csId, tekRand: copyBytes(delivery.tekRand), tekLength,
        layout: delivery.layout, derivation: delivery.derivation, expiresAtNtpMs: g.expiresAt,
      });
    }
    this.last.set(delivery.csbId, timestamp);
    if (!delivery.update) this.tekRands.set(delivery.csbId, copyBytes(delivery.tekRand));
    const value = encodeSealedKeyIds({ serviceId: delivery.serviceId, tgks: delivery.tgks });
    const out = encodeAuthenticateResponse(value);
    value.fill(0);
    return out;
  }

  /**
   * The TGK named by `tgkId` and, when the command carried one, a CSB ID. Without it, the one service
   * holding that TGK-ID; a TGK-ID that several services hold is ambiguous (a UiccError 6A80).
   */
  private find(csbId: number | undefined, tgkId: number): CardTgk | undefined {
    if (csbId !== undefined) return this.tgks.get(slotOf(csbId, tgkId));
    const matches = [...this.tgks.values()].filter((t) => t.tgkId === tgkId);
    if (matches.length > 1) throw new UiccError("ERR_INCORRECT_DATA", "the TGK-ID is held for several services: name the CSB ID", SW.INCORRECT_DATA);
    return matches[0];
  }

  /** Mode F2/F3 data: [CSB ID (4)] ‖ rest, where rest is `restLength` bytes. */
  private scoped(data: Uint8Array, restLength: number): { csbId: number | undefined; rest: Uint8Array } | undefined {
    if (data.length === restLength) return { csbId: undefined, rest: data };
    if (data.length !== CSB_ID_BYTES + restLength) return undefined;
    return { csbId: new DataView(data.buffer, data.byteOffset, CSB_ID_BYTES).getUint32(0), rest: data.subarray(CSB_ID_BYTES) };
  }

  /**
   * The TGK a mode F2 command names: [CSB ID (4)] ‖ MKI, the MKI in the layout of the service holding it.
   * A CSB ID prefix is tried first; without one, exactly one held TGK may match (6A80 otherwise).
   */
  private tgkForMki(data: Uint8Array): { held: CardTgk; mki: Uint8Array } | "wrong length" | undefined {
    const held = [...this.tgks.values()];
    const fits = (t: { layout: MkiLayout }, len: number) => mkiLength(t.layout) === len;
    if (data.length > CSB_ID_BYTES) {
      const csbId = new DataView(data.buffer, data.byteOffset, CSB_ID_BYTES).getUint32(0);
      const mki = data.subarray(CSB_ID_BYTES);
      const service = held.find((t) => t.csbId === csbId && fits(t, mki.length));
      const named = service && this.tgks.get(slotOf(csbId, splitMki(mki, service.layout).tgkId));
      if (named) return { held: named, mki };
    }
    const matches = held.filter((t) => fits(t, data.length) && splitMki(data, t.layout).tgkId === t.tgkId);
    if (matches.length > 1) throw new UiccError("ERR_INCORRECT_DATA", "the TGK-ID is held for several services: name the CSB ID", SW.INCORRECT_DATA);
    if (matches[0]) return { held: matches[0], mki: data };
    const plausible = [...held, { layout: DEFAULT_MKI_LAYOUT }].some((t) => fits(t, data.length) || fits(t, data.length - CSB_ID_BYTES));
    return plausible ? undefined : "wrong length";
  }

  private generateTek(data: Uint8Array): Uint8Array {
    const found = this.tgkForMki(data);
    if (found === "wrong length") return encodeResponseApdu(SW.WRONG_LENGTH);
    if (!found) return encodeResponseApdu(SW.KEY_NOT_FOUND);
    const { held, mki } = found;
    const tgkId = held.tgkId;
    const { masterKey, masterSalt } = deriveSrtpMasterKeys(
      { tgk: held.tgk, tgkId, csbId: held.csbId, csId: held.csId, tekRand: held.tekRand, mki },
      { layout: held.layout, derivation: held.derivation, tekLength: held.tekLength, core: this.core },
    );
    const value = encodeTekResponse({ tgkId, masterKey, masterSalt });
    masterKey.fill(0);
    masterSalt.fill(0);
    const out = encodeAuthenticateResponse(value);
    value.fill(0);
    return out;
  }

  /** Mode F5: SK-TGK for the MKI, the first half of Alternative 2 (the ME derives the TEK from it). */
  private generateSkTgk(data: Uint8Array): Uint8Array {
    const found = this.tgkForMki(data);
    if (found === "wrong length") return encodeResponseApdu(SW.WRONG_LENGTH);
    if (!found) return encodeResponseApdu(SW.KEY_NOT_FOUND);
    const { held, mki } = found;
    if (held.derivation !== "alt2") return encodeResponseApdu(SW.CONDITIONS_NOT_SATISFIED);
    const sk = deriveSkTgk({ tgk: held.tgk, tgkId: held.tgkId, csbId: held.csbId, mki }, { layout: held.layout, core: this.core });
    const value = encodeSkTgkResponse(held.tgkId, sk);
    sk.fill(0);
    const out = encodeAuthenticateResponse(value);
    value.fill(0);
    return out;
  }

  /** Mode F4: HMAC-SHA1 under K_req (derived from the KEK by the shared http-protocol function). */
  private signKeyRequest(input: Uint8Array): Uint8Array {
    if (input.length === 0 || input.length > MAX_SIGN_INPUT_BYTES) return encodeResponseApdu(SW.WRONG_LENGTH);
    if (!isKeyRequestMacInput(input)) return encodeResponseApdu(SW.INCORRECT_DATA);
    const mac = requestMacFromKek(this.kek, input, this.core);
    const out = encodeAuthenticateResponse(mac);
    mac.fill(0);
    return out;
  }

  private deleteTgk(data: Uint8Array): Uint8Array {
    const scoped = this.scoped(data, 4);
    if (!scoped) return encodeResponseApdu(SW.WRONG_LENGTH);
    const tgkId = new DataView(scoped.rest.buffer, scoped.rest.byteOffset, 4).getUint32(0);
    const held = this.find(scoped.csbId, tgkId);
    if (!held) return encodeResponseApdu(SW.KEY_NOT_FOUND);
    held.tgk.fill(0);
    this.tgks.delete(slotOf(held.csbId, held.tgkId));
    return encodeAuthenticateResponse();
  }
}
