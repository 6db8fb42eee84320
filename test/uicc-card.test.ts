// The card logic of the UICC-proxy boundary (SoftCard: status words 9862, 9865, 9866, 6A88, deletion,
// TEKs equal to the ME-side derivation), and the same card behind a Node worker (UiccProxy, UiccTekSource):
// no message from the card ever holds a TGK, the KEK goes in once via workerData, timeouts and faults map
// to UiccError, and the worker shuts down cleanly.
//
// The worker runs TypeScript sources, so the worker entry (src/mbms/uicc/card-worker.ts and what it
// imports) is bundled with rolldown (already in node_modules through vite) into a temp file first.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "rolldown";
import { loadCore } from "../src/wasm/index.js";
import { buildMbmsKeyMessage, type TgkGrant } from "../src/mbms/key-message.js";
import { buildMki, deriveSkTgk, deriveSrtpMasterKeys, tekFromSkTgk } from "../src/mbms/key-hierarchy.js";
import { SoftCard } from "../src/mbms/uicc/soft-card.js";
import { keyMessageFacts } from "../src/mbms/key-message-facts.js";
import { decodeDeliveryResponse } from "../src/mbms/uicc/delivery-response.js";
import {
  AuthMode, SW, UiccError, UiccProxy, UiccTekSource, decodeAuthenticate, decodeAuthenticateResponse, decodeResponseApdu,
  encodeAuthenticate, type CardChannel, type CardResponse,
} from "../src/mbms/uicc/index.js";
import { nodeWorkerChannel, startCardWorker } from "../src/mbms/uicc/card-worker.js";
import { cardSigner } from "../src/mbms/uicc/uicc-proxy.js";
import {
  KEYS_METHOD, KEYS_PATH, MAX_BODY_BYTES, parseAuthorization, requestAuthKey, requestMacInput, signRequest, verifyRequestMac,
} from "../src/mbms/http-protocol.js";
import type { TekSource } from "../src/mbms/ue/tek-source.js";

const core = loadCore();
const NOW = Date.UTC(2026, 2, 1, 12);
const HOUR = 3_600_000;
const KEK = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
const OTHER_KEK = Uint8Array.from({ length: 16 }, (_, i) => 0x90 + i);
const TEK_RAND = Uint8Array.from({ length: 16 }, (_, i) => 0xe0 ^ i);
const CSB_ID = 0x0badcafe;

const grant = (tgkId: number, validFrom = NOW, expiresAt = NOW + HOUR): TgkGrant => ({
  tgkId, tgk: Uint8Array.from({ length: 16 }, (_, i) => (tgkId * 131 + i * 7 + 3) & 0xff), validFrom, expiresAt,
});
const SERVICE = {
  bmscId: "bmsc.operator.example", userId: "sip:alice@operator.example", serviceId: "urn:mbms:tv:1", csbId: CSB_ID, tekRand: TEK_RAND,
  profile: "AES_CM_128_HMAC_SHA1_80",
} as const;
/** A key message of the service; `update`: a re-key, without RAND (RFC 3830 §4.5). */
const message = (tgks: TgkGrant[], nowMs: number, kek = KEK, update = false) => buildMbmsKeyMessage({ ...SERVICE, kek, tgks, nowMs, update }, core);
const randOf = (n: number) => Uint8Array.from({ length: 8 }, (_, i) => (n * 7919 + i * 104729) & 0xff);
const meDerive = (g: TgkGrant, mki: Uint8Array) =>
  deriveSrtpMasterKeys({ tgk: g.tgk, tgkId: g.tgkId, csbId: CSB_ID, csId: 1, tekRand: TEK_RAND, mki }, { core });

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const sw = (response: Uint8Array) => decodeResponseApdu(response).sw;
const deliver = (card: SoftCard, bytes: Uint8Array) => sw(card.process(encodeAuthenticate(AuthMode.KeyMessage, bytes)));
const tek = (card: SoftCard, mki: Uint8Array) => card.process(encodeAuthenticate(AuthMode.TekFromMki, mki));
const del = (card: SoftCard, id: number) => {
  const d = new Uint8Array(4);
  new DataView(d.buffer).setUint32(0, id);
  return sw(card.process(encodeAuthenticate(AuthMode.DeleteTgk, d)));
};

describe("SoftCard with two services (TGK-IDs are numbered per service)", () => {
  const CSB_B = 0x0b0b0b0b;
  const TEK_RAND_B = Uint8Array.from({ length: 16 }, (_, i) => 0x5a ^ i);
  const messageB = (tgks: TgkGrant[], nowMs: number) => buildMbmsKeyMessage({
    kek: KEK, bmscId: "bmsc.operator.example", userId: "sip:alice@operator.example", serviceId: "urn:mbms:tv:2",
    csbId: CSB_B, tekRand: TEK_RAND_B, profile: "AES_CM_128_HMAC_SHA1_80", tgks, nowMs,
  }, core);
  const withCsb = (csbId: number, data: Uint8Array) => {
    const out = new Uint8Array(4 + data.length);
    new DataView(out.buffer).setUint32(0, csbId);
    out.set(data, 4);
    return out;
  };

  it("holds the same TGK-ID for both, derives each service's TEK from its own TGK, and keeps a counter per service", () => {
    const card = new SoftCard(KEK, { core });
    const a = grant(1);
    const b = { ...grant(1), tgk: Uint8Array.from({ length: 16 }, (_, i) => 0xc3 ^ i) }; // TGK-ID 1 of service B
    expect(deliver(card, message([a], NOW + 10))).toBe(SW.OK);
    // Service B's message is older than A's: with one counter per card it was refused as stale.
    expect(deliver(card, messageB([b], NOW))).toBe(SW.OK);
    expect(card.tgkCount).toBe(2);
    const mki = buildMki(1, randOf(5));
    const fromA = decodeAuthenticateResponse(card.process(encodeAuthenticate(AuthMode.TekFromMki, withCsb(CSB_ID, mki))))!;
    const fromB = decodeAuthenticateResponse(card.process(encodeAuthenticate(AuthMode.TekFromMki, withCsb(CSB_B, mki))))!;
    expect(fromA.subarray(4, 20)).toEqual(meDerive(a, mki).masterKey);
    const wantB = deriveSrtpMasterKeys({ tgk: b.tgk, tgkId: 1, csbId: CSB_B, csId: 1, tekRand: TEK_RAND_B, mki }, { core });
    expect(fromB.subarray(4, 20)).toEqual(wantB.masterKey);
    expect(fromB.subarray(20)).toEqual(wantB.masterSalt);
    // Without a CSB ID the TGK-ID is ambiguous: refused, never answered with one service's key at random.
    expect(sw(tek(card, mki))).toBe(SW.INCORRECT_DATA);
    // Replays are refused per service.
    expect(deliver(card, messageB([b], NOW))).toBe(SW.FRESHNESS);
    // Deleting B's TGK 1 leaves A's.
    expect(sw(card.process(encodeAuthenticate(AuthMode.DeleteTgk, withCsb(CSB_B, Uint8Array.of(0, 0, 0, 1)))))).toBe(SW.OK);
    expect(card.tgkCount).toBe(1);
    expect(decodeAuthenticateResponse(tek(card, mki))!.subarray(4, 20)).toEqual(meDerive(a, mki).masterKey);
  });
});

describe("SoftCard (APDU in, APDU out)", () => {
  it("accepts a key message and returns TEKs equal to the ME-side derivation, TGK-ID ‖ key ‖ salt only", () => {
    const card = new SoftCard(KEK, { core });
    const g = [grant(1), grant(2), grant(3)];
    expect(deliver(card, message(g, NOW))).toBe(SW.OK);
    expect(card.tgkCount).toBe(3);
    for (let n = 0; n < 50; n++) {
      const tg = g[n % 3]!;
      const mki = buildMki(tg.tgkId, randOf(n));
      const value = decodeAuthenticateResponse(tek(card, mki))!;
      const want = meDerive(tg, mki);
      expect(value.length).toBe(4 + 16 + 14);
      expect(new DataView(value.buffer).getUint32(0)).toBe(tg.tgkId);
      expect(value.subarray(4, 20)).toEqual(want.masterKey);
      expect(value.subarray(20)).toEqual(want.masterSalt);
    }
  });

  it("keeps the service's TEK_RAND from the initial message: a re-key without RAND (RFC 3830 §4.5) derives the same TEKs; without an initial message it is refused (6A80, nothing taken)", () => {
    const update = (tgks: TgkGrant[], nowMs: number) => message(tgks, nowMs, KEK, true);
    const fresh = new SoftCard(KEK, { core });
    expect(deliver(fresh, update([grant(2)], NOW))).toBe(SW.INCORRECT_DATA);
    expect(fresh.tgkCount).toBe(0);
    const card = new SoftCard(KEK, { core });
    expect(deliver(card, message([grant(1)], NOW))).toBe(SW.OK);
    expect(deliver(card, update([grant(1), grant(2, NOW + HOUR, NOW + 2 * HOUR)], NOW + 1000))).toBe(SW.OK);
    expect(card.tgkCount).toBe(2);
    const mki = buildMki(2, randOf(5));
    expect(decodeAuthenticateResponse(tek(card, mki))!.subarray(4, 20)).toEqual(meDerive(grant(2, NOW + HOUR, NOW + 2 * HOUR), mki).masterKey);
  });

  it("9862 for a key message under another KEK (and nothing changes)", () => {
    const card = new SoftCard(KEK, { core });
    expect(deliver(card, message([grant(1)], NOW, OTHER_KEK))).toBe(SW.INCORRECT_MAC);
    expect(card.tgkCount).toBe(0);
    expect(card.lastTimestamp).toBeUndefined();
    // A tampered MAC region too.
    const m = message([grant(1)], NOW);
    m[m.length - 1]! ^= 1;
    expect(deliver(card, m)).toBe(SW.INCORRECT_MAC);
    expect(deliver(card, message([grant(1)], NOW))).toBe(SW.OK);
  });

  it("9865 for a replayed or older message; the counter is the message's T and moves only on success", () => {
    const card = new SoftCard(KEK, { core });
    const first = message([grant(1)], NOW);
    expect(deliver(card, first)).toBe(SW.OK);
    const t = card.lastTimestamp!;
    expect(deliver(card, first)).toBe(SW.FRESHNESS); // replay
    expect(deliver(card, message([grant(2)], NOW - 1000))).toBe(SW.FRESHNESS); // older
    expect(card.lastTimestamp).toBe(t);
    // A newer one under a wrong KEK does not move the counter; a newer genuine one does.
    expect(deliver(card, message([grant(2)], NOW + 5000, OTHER_KEK))).toBe(SW.INCORRECT_MAC);
    expect(card.lastTimestamp).toBe(t);
    expect(deliver(card, message([grant(2)], NOW + 1000))).toBe(SW.OK);
    expect(card.lastTimestamp! > t).toBe(true);
    // No clock: a message from far in the past or future is fine if it is newer than the counter.
    expect(deliver(card, message([grant(3)], NOW + 400 * 24 * HOUR, KEK))).toBe(SW.OK);
  });

  it("9866 when full: the whole message is refused; re-delivered TGK-IDs and expired TGKs do not count", () => {
    const card = new SoftCard(KEK, { core, capacity: 2 });
    expect(deliver(card, message([grant(1), grant(2), grant(3)], NOW))).toBe(SW.MEMORY_FULL);
    expect(card.tgkCount).toBe(0);
    expect(deliver(card, message([grant(1), grant(2)], NOW + 1))).toBe(SW.OK);
    expect(deliver(card, message([grant(3)], NOW + 2))).toBe(SW.MEMORY_FULL);
    expect(deliver(card, message([grant(2), grant(1)], NOW + 3))).toBe(SW.OK); // replaces, no new slots
    expect(card.tgkCount).toBe(2);
    // At T past TGK 1's and 2's expiry they are dropped, making room.
    expect(deliver(card, message([grant(3, NOW + HOUR, NOW + 2 * HOUR), grant(4, NOW + HOUR, NOW + 2 * HOUR)], NOW + HOUR + 1))).toBe(SW.OK);
    expect(sw(tek(card, buildMki(1, randOf(1))))).toBe(SW.KEY_NOT_FOUND);
    expect(card.tgkCount).toBe(2);
    // Default capacity is 8.
    const big = new SoftCard(KEK, { core });
    expect(deliver(big, message(Array.from({ length: 9 }, (_, i) => grant(i + 1)), NOW))).toBe(SW.MEMORY_FULL);
    expect(deliver(big, message(Array.from({ length: 8 }, (_, i) => grant(i + 1)), NOW))).toBe(SW.OK);
  });

  it("6A88 for an MKI naming an unknown TGK; deletion works (then 6A88)", () => {
    const card = new SoftCard(KEK, { core });
    expect(sw(tek(card, buildMki(1, randOf(0))))).toBe(SW.KEY_NOT_FOUND);
    expect(deliver(card, message([grant(1), grant(2)], NOW))).toBe(SW.OK);
    expect(sw(tek(card, buildMki(7, randOf(0))))).toBe(SW.KEY_NOT_FOUND);
    expect(sw(tek(card, buildMki(1, randOf(0))))).toBe(SW.OK);
    expect(del(card, 1)).toBe(SW.OK);
    expect(sw(tek(card, buildMki(1, randOf(0))))).toBe(SW.KEY_NOT_FOUND);
    expect(del(card, 1)).toBe(SW.KEY_NOT_FOUND);
    expect(sw(tek(card, buildMki(2, randOf(0))))).toBe(SW.OK);
    expect(card.tgkCount).toBe(1);
  });

  it("other refusals: wrong MKI length (6700), garbage key message (6A80), unknown and 31.102 modes (6A80), closed (6F00)", () => {
    const card = new SoftCard(KEK, { core });
    expect(sw(tek(card, new Uint8Array(11)))).toBe(SW.WRONG_LENGTH);
    expect(sw(card.process(encodeAuthenticate(AuthMode.DeleteTgk, new Uint8Array(3))))).toBe(SW.WRONG_LENGTH);
    expect(deliver(card, new Uint8Array(40).fill(1))).toBe(SW.INCORRECT_DATA);
    expect(sw(card.process(encodeAuthenticate(0x02, new Uint8Array(20))))).toBe(SW.INCORRECT_DATA); // 31.102 MTK Generation
    expect(sw(card.process(encodeAuthenticate(0x03, new Uint8Array(5))))).toBe(SW.INCORRECT_DATA);
    card.close();
    expect(deliver(card, message([grant(1)], NOW))).toBe(SW.NO_DIAGNOSIS);
    expect(() => new SoftCard(new Uint8Array(8))).toThrow(UiccError);
  });
});

describe("Alternative 2 over the card (the founding document's Figure 5)", () => {
  /** An AES-256 Alternative 2 service's key message. */
  const alt2 = (tgks: TgkGrant[], nowMs: number, update = false) => buildMbmsKeyMessage({
    ...SERVICE, kek: KEK, profile: "AES_256_CM_HMAC_SHA1_80", derivation: "alt2", tgks, nowMs, update,
  }, core);
  const g = { ...grant(7), tgk: Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i) };
  const want = (mki: Uint8Array) => deriveSrtpMasterKeys(
    { tgk: g.tgk, tgkId: 7, csbId: CSB_ID, csId: 1, tekRand: TEK_RAND, mki }, { derivation: "alt2", tekLength: 32, core },
  );
  /** An in-process channel to `card` that counts the modes it is asked. */
  function channelTo(card: SoftCard, modes: number[]): CardChannel {
    let deliver: ((r: CardResponse) => void) | undefined;
    return {
      post: (r) => {
        const apdu = new Uint8Array(r.apdu);
        modes.push(decodeAuthenticate(apdu.slice()).mode);
        const out = card.process(apdu);
        queueMicrotask(() => deliver?.({ id: r.id, apdu: out.slice().buffer }));
      },
      listen: (onResponse) => (deliver = onResponse),
      terminate: async () => {},
    };
  }

  it("mode F5 answers TGK-ID ‖ SK-TGK, from which the ME's half gives the TEK; 6985 for an Alternative 1 service's TGK", () => {
    const card = new SoftCard(KEK, { core });
    expect(deliver(card, alt2([g], NOW))).toBe(SW.OK);
    const mki = buildMki(7, randOf(3));
    const value = decodeAuthenticateResponse(card.process(encodeAuthenticate(AuthMode.SkTgkFromMki, mki)))!;
    expect(value.length).toBe(4 + 32);
    expect(new DataView(value.buffer, value.byteOffset).getUint32(0)).toBe(7);
    const sk = value.subarray(4);
    expect(sk).toEqual(deriveSkTgk({ tgk: g.tgk, tgkId: 7, csbId: CSB_ID, mki }, { core }));
    expect(tekFromSkTgk({ skTgk: sk, csbId: CSB_ID, csId: 1, tekRand: TEK_RAND }, { tekLength: 32, core })).toEqual(want(mki));
    // The card's own TEK (F2) for the same MKI is the same key: the split moves work, not the result.
    expect(decodeAuthenticateResponse(tek(card, mki))!.subarray(4, 36)).toEqual(want(mki).masterKey);
    const one = new SoftCard(KEK, { core });
    expect(deliver(one, message([grant(1)], NOW))).toBe(SW.OK);
    expect(sw(one.process(encodeAuthenticate(AuthMode.SkTgkFromMki, buildMki(1, randOf(3)))))).toBe(SW.CONDITIONS_NOT_SATISFIED);
    expect(sw(one.process(encodeAuthenticate(AuthMode.SkTgkFromMki, buildMki(9, randOf(3)))))).toBe(SW.KEY_NOT_FOUND);
  });

  it("UiccTekSource: the split by default (F5, TEK in the ME), the card's TEK on request (F2); the same TEKs; no TEK_RAND kept → typed refusal", async () => {
    for (const [alt2Tek, mode] of [[undefined, AuthMode.SkTgkFromMki], ["card", AuthMode.TekFromMki]] as const) {
      const modes: number[] = [];
      const proxy = new UiccProxy(channelTo(new SoftCard(KEK, { core }), modes));
      const source = new UiccTekSource(proxy, { clock: { now: () => NOW }, ...(alt2Tek ? { alt2Tek } : {}) });
      await source.deliver(alt2([g], NOW));
      for (let n = 0; n < 3; n++) {
        const mki = buildMki(7, randOf(n));
        expect(await source.deriveTek(mki)).toEqual(want(mki));
      }
      expect(modes.filter((m) => m !== AuthMode.KeyMessage)).toEqual([mode, mode, mode]);
      await proxy.close();
    }
    // A source that did not see the service's initial message has no TEK_RAND for its half: refused, typed.
    const card = new SoftCard(KEK, { core });
    expect(deliver(card, alt2([g], NOW))).toBe(SW.OK);
    const proxy = new UiccProxy(channelTo(card, []));
    const late = new UiccTekSource(proxy, { clock: { now: () => NOW } });
    await late.deliver(alt2([g], NOW + 1, true));
    await expect(late.deriveTek(buildMki(7, randOf(0)))).rejects.toMatchObject({ code: "ERR_ARGUMENT" });
    expect(() => new UiccTekSource(proxy, { alt2Tek: "x" as "me" })).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    await proxy.close();
  });
});

describe("SoftCard mode F4 (sign key request)", () => {
  const USER = "sip:card@example";
  const BODY = JSON.stringify({ serviceId: "urn:mbms:x", have: [1, 2] });
  const NONCE = "00112233445566778899aabbccddeeff";
  const input = (over: Partial<{ method: string; path: string; user: string; time: string; nonce: string; body: string }> = {}) =>
    requestMacInput(over.method ?? KEYS_METHOD, over.path ?? KEYS_PATH, over.user ?? USER, over.time ?? String(NOW), over.nonce ?? NONCE, over.body ?? BODY);
  const sign = (card: SoftCard, data: Uint8Array) => card.process(encodeAuthenticate(AuthMode.SignKeyRequest, data));

  it("answers 53 14 ‖ the MAC signRequest computes for the same input (K_req from the card's KEK)", () => {
    const card = new SoftCard(KEK, { core });
    const response = sign(card, input());
    expect(decodeResponseApdu(response).sw).toBe(SW.OK);
    expect([...response.subarray(0, 2)]).toEqual([0x53, 0x14]);
    expect(response.length).toBe(2 + 20 + 2);
    const mac = decodeAuthenticateResponse(response)!;
    const headers = signRequest({ kek: KEK, userId: USER, method: KEYS_METHOD, path: KEYS_PATH, body: BODY, timeMs: NOW, nonce: NONCE }, core);
    expect(mac).toEqual(parseAuthorization(headers.authorization));
    const kReq = requestAuthKey(KEK, core);
    expect(verifyRequestMac(kReq, input(), mac, core)).toBe(true);
    // Another KEK, another MAC; the body is covered.
    expect(decodeAuthenticateResponse(sign(new SoftCard(OTHER_KEK, { core }), input()))).not.toEqual(mac);
    expect(decodeAuthenticateResponse(sign(card, input({ body: BODY + " " })))).not.toEqual(mac);
    // A byte body and a 4 KiB body.
    const big = "x".repeat(MAX_BODY_BYTES);
    expect(verifyRequestMac(kReq, input({ body: big }), decodeAuthenticateResponse(sign(card, input({ body: big })))!, core)).toBe(true);
  });

  it("malformed: empty or oversized → 6700; not a key request's MAC input → 6A80; closed → 6F00", () => {
    const card = new SoftCard(KEK, { core });
    expect(sw(sign(card, new Uint8Array(0)))).toBe(SW.WRONG_LENGTH);
    expect(sw(sign(card, input({ body: "x".repeat(MAX_BODY_BYTES + 4096) })))).toBe(SW.WRONG_LENGTH);
    for (const bad of [
      input({ method: "GET" }), input({ path: "/other" }), input({ user: "" }), input({ time: "12a" }), input({ time: "" }),
      input({ nonce: NONCE.toUpperCase() }), input({ nonce: NONCE.slice(2) }),
      new TextEncoder().encode(`POST\n${KEYS_PATH}\n${USER}\n${NOW}`), // cut before the nonce
      new Uint8Array(40).fill(0x41),
    ]) {
      expect(sw(sign(card, bad))).toBe(SW.INCORRECT_DATA);
    }
    card.close();
    expect(sw(sign(card, input()))).toBe(SW.NO_DIAGNOSIS);
  });
});

describe("the card in a worker, behind UiccProxy", () => {
  let dir: string;
  let workerUrl: URL;
  let worker: Worker;
  let proxy: UiccProxy;
  const fromCard: Uint8Array[] = [];
  const toCard: Uint8Array[] = [];
  const callerKek = KEK.slice();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "uicc-worker-"));
    const file = join(dir, "card-worker.mjs");
    await build({
      input: new URL("../src/mbms/uicc/card-worker.ts", import.meta.url).pathname,
      platform: "node", logLevel: "warn",
      resolve: { extensionAlias: { ".js": [".ts", ".js"] } },
      output: { file, format: "esm" },
    });
    workerUrl = new URL(`file://${file}`);
    worker = startCardWorker(callerKek, { workerUrl, capacity: 4 });
    // Every message from the card, raw, before the proxy sees it.
    worker.on("message", (m: unknown) => {
      const apdu = (m as CardResponse).apdu;
      fromCard.push(apdu instanceof ArrayBuffer ? new Uint8Array(apdu.slice(0)) : new TextEncoder().encode(JSON.stringify(m)));
    });
    const channel = nodeWorkerChannel(worker);
    const tapped: CardChannel = {
      post: (r) => {
        toCard.push(new Uint8Array(r.apdu.slice(0)));
        channel.post(r);
      },
      listen: (a, b) => channel.listen(a, b),
      terminate: () => channel.terminate(),
    };
    proxy = new UiccProxy(tapped);
  });

  afterAll(async () => {
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const g = [grant(11), grant(12), grant(13)];

  it("provisions the KEK once: the caller's array is untouched, the proxy holds none", async () => {
    expect(callerKek).toEqual(KEK);
    expect(JSON.stringify(Object.entries(proxy))).not.toContain(Buffer.from(KEK).toString("hex"));
  });

  it("delivers a 3-TGK key message (extended APDU) and generates TEKs equal to deriveSrtpMasterKeys", async () => {
    await proxy.deliverKeyMessage(message(g, NOW));
    for (let n = 0; n < 300; n++) {
      const tg = g[n % 3]!;
      const mki = buildMki(tg.tgkId, randOf(n));
      const got = await proxy.generateTek(mki);
      expect(got).toEqual(meDerive(tg, mki));
    }
    const mkis = Array.from({ length: 64 }, (_, n) => buildMki(g[n % 3]!.tgkId, randOf(1000 + n)));
    const parallel = await Promise.all(mkis.map((m) => proxy.generateTek(m)));
    parallel.forEach((r, n) => expect(r).toEqual(meDerive(g[n % 3]!, mkis[n]!)));
  });

  it("maps the card's status words: 9862, 9865, 9866 → UiccError; 6A88 → undefined / false", async () => {
    await expect(proxy.deliverKeyMessage(message([grant(14)], NOW + 10, OTHER_KEK))).rejects.toMatchObject({ code: "ERR_INCORRECT_MAC", sw: 0x9862 });
    await expect(proxy.deliverKeyMessage(message(g, NOW))).rejects.toMatchObject({ code: "ERR_FRESHNESS", sw: 0x9865 });
    await expect(proxy.deliverKeyMessage(message([grant(14), grant(15)], NOW + 20))).rejects.toMatchObject({ code: "ERR_MEMORY_FULL", sw: 0x9866 });
    await expect(proxy.deliverKeyMessage(new Uint8Array(30))).rejects.toMatchObject({ code: "ERR_INCORRECT_DATA" });
    expect(await proxy.generateTek(buildMki(99, randOf(0)))).toBeUndefined();
    expect(await proxy.deleteTgk(99)).toBe(false);
    await expect(proxy.generateTek(new Uint8Array(5))).rejects.toMatchObject({ code: "ERR_WRONG_LENGTH" });
    const raw = await proxy.transmit(Uint8Array.of(0x00, 0x88, 0x80, 0x85));
    expect(decodeResponseApdu(raw).sw).toBe(SW.INS_NOT_SUPPORTED);
  });

  it("UiccTekSource: TGK-IDs and expiries from the card's answer to what it delivered; deriveTek; deletion", async () => {
    let now = NOW + 1000;
    const source: TekSource & UiccTekSource = new UiccTekSource(proxy, { clock: { now: () => now } });
    const next = [grant(14, NOW + HOUR, NOW + 2 * HOUR)];
    const bytes = message(next, NOW + 30);
    // Sealed under the KEK: the clear parts name neither the service nor the TGK-IDs and lifetimes ...
    expect(keyMessageFacts(bytes)).not.toHaveProperty("tgks");
    expect(keyMessageFacts(bytes)).not.toHaveProperty("serviceId");
    let changes = 0;
    const off = source.subscribe(() => changes++);
    // ... the card tells them, once it verified the MAC.
    await expect(source.deliver(bytes)).resolves.toEqual({ serviceId: SERVICE.serviceId, tgks: [{ tgkId: 14, validFrom: NOW + HOUR, expiresAt: NOW + 2 * HOUR }] });
    expect(source.serviceId).toBe(SERVICE.serviceId);
    expect(source.knownTgkIds()).toEqual([14]);
    expect(source.tgkExpiries()).toEqual(new Map([[14, NOW + 2 * HOUR]]));
    const mki = buildMki(14, randOf(5));
    expect(await source.deriveTek(mki)).toEqual(meDerive(next[0]!, mki));
    expect(await source.deriveTek(buildMki(11, randOf(5)))).toBeUndefined(); // the card holds 11, this source did not deliver it
    expect(await source.deriveTek(new Uint8Array(3))).toBeUndefined();
    now = NOW + 3 * HOUR; // past expiry + skew: the ME enforces lifetimes (the card has no clock)
    expect(await source.deriveTek(mki)).toBeUndefined();
    expect(source.knownTgkIds()).toEqual([]);
    expect(await source.prune()).toBe(1);
    expect(await proxy.generateTek(mki)).toBeUndefined(); // deleted on the card too
    await expect(source.deliver(message([grant(16)], NOW + 40, OTHER_KEK))).rejects.toMatchObject({ code: "ERR_INCORRECT_MAC" });
    expect(source.knownTgkIds()).toEqual([]); // nothing recorded for a refused message
    expect(await source.deleteTgk(13)).toBe(true);
    expect(changes).toBeGreaterThanOrEqual(3);
    off();
  });

  it("signKeyRequest (mode F4) and cardSigner: headers a KEK holder would produce, with no KEK in the ME", async () => {
    const body = JSON.stringify({ serviceId: "urn:mbms:x", have: [] });
    const nonce = "0123456789abcdef0123456789abcdef";
    const headers = await cardSigner(proxy, "sip:w@example").sign({ method: KEYS_METHOD, path: KEYS_PATH, body, timeMs: NOW, nonce });
    expect(headers).toEqual({ ...signRequest({ kek: KEK, userId: "sip:w@example", method: KEYS_METHOD, path: KEYS_PATH, body, timeMs: NOW, nonce }, core) });
    const fresh = await cardSigner(proxy, "sip:w@example").sign({ method: KEYS_METHOD, path: KEYS_PATH, body, timeMs: NOW });
    expect(fresh["x-mbms-nonce"]).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh["x-mbms-nonce"]).not.toBe(nonce);
    await expect(proxy.signKeyRequest(new TextEncoder().encode("GET\n/\nu\n1\nn\n"))).rejects.toMatchObject({ code: "ERR_INCORRECT_DATA", sw: 0x6a80 });
    await expect(proxy.signKeyRequest(new Uint8Array(0))).rejects.toMatchObject({ code: "ERR_ARGUMENT" });
  });

  it("no message from the card ever contains any TGK (nor does any command carry one in clear)", async () => {
    const all = [...g, grant(14, NOW + HOUR, NOW + 2 * HOUR), grant(14), grant(15), grant(16)];
    expect(fromCard.length).toBeGreaterThan(300);
    expect(toCard.length).toBe(fromCard.length);
    for (const buf of [...fromCard, ...toCard]) {
      for (const t of all) expect(contains(buf, t.tgk)).toBe(false);
      expect(contains(buf, KEK)).toBe(false);
    }
    // Every response is a response APDU; the biggest ones answer key message deliveries (the sealed service id
    // and TGK validities, no key), and all others are at most a TEK answer: 53 22 ‖ 34 bytes ‖ 9000.
    const big = fromCard.filter((b) => b.length > 2 + 34 + 2);
    expect(big.length).toBeGreaterThan(0);
    for (const b of big) expect(decodeDeliveryResponse(decodeAuthenticateResponse(b)).serviceId).toBe(SERVICE.serviceId);
  });

  it("times out, and rejects after close with ERR_CLOSED", async () => {
    const silent: CardChannel = { post: () => {}, listen: () => {}, terminate: async () => {} };
    const p = new UiccProxy(silent, { timeoutMs: 30 });
    await expect(p.generateTek(buildMki(1, randOf(0)))).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    const pending = p.generateTek(buildMki(1, randOf(1)));
    await p.close();
    await expect(pending).rejects.toMatchObject({ code: "ERR_CLOSED" });
    await expect(p.deleteTgk(1)).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });

  it("a dying card worker rejects pending requests with ERR_CARD_FAULT", async () => {
    const w = startCardWorker(KEK, { workerUrl });
    const channel = nodeWorkerChannel(w);
    let swallow = false; // a request the card never gets: deterministically pending when the worker dies
    const p = new UiccProxy({ ...channel, post: (r) => (swallow ? undefined : channel.post(r)) }, { timeoutMs: 5000 });
    await expect(p.generateTek(buildMki(1, randOf(0)))).resolves.toBeUndefined(); // alive
    swallow = true;
    const pending = p.generateTek(buildMki(1, randOf(1)));
    await w.terminate();
    await expect(pending).rejects.toMatchObject({ code: "ERR_CARD_FAULT" });
    await expect(p.generateTek(buildMki(1, randOf(2)))).rejects.toMatchObject({ code: "ERR_CARD_FAULT" });
    await p.close();
  });

  it("takes Node Buffers (pool views) without detaching or zeroing them", async () => {
    const kekBuf = Buffer.from(KEK);
    const neighbour = Buffer.from("pool neighbour");
    const w = startCardWorker(kekBuf, { workerUrl });
    const p = new UiccProxy(nodeWorkerChannel(w));
    const msg = Buffer.from(message([grant(1)], NOW));
    await p.deliverKeyMessage(msg);
    const mki = Buffer.from(buildMki(1, randOf(3)));
    expect(await p.generateTek(mki)).toEqual(meDerive(grant(1), buildMki(1, randOf(3))));
    expect(kekBuf).toEqual(Buffer.from(KEK));
    expect(neighbour.toString()).toBe("pool neighbour");
    expect(msg).toEqual(Buffer.from(message([grant(1)], NOW)));
    expect(mki).toEqual(Buffer.from(buildMki(1, randOf(3))));
    await p.close();
    const card = new SoftCard(kekBuf, { core });
    card.close();
    expect(kekBuf).toEqual(Buffer.from(KEK)); // the card zeroes its own copy only
  });

  it("shuts the worker down cleanly", async () => {
    const w = startCardWorker(KEK, { workerUrl });
    const p = new UiccProxy(nodeWorkerChannel(w));
    const exited = new Promise<number>((resolve) => w.once("exit", resolve));
    await p.deliverKeyMessage(message([grant(1)], NOW));
    await p.close();
    expect(typeof (await exited)).toBe("number");
    await p.close(); // idempotent
  });
});
