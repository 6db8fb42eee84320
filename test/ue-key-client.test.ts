// The UE key client against a tiny fake BM-SC (a fetch stub running the real buildMbmsKeyMessage and
// checking the request signature): initial keying, the scheduled re-key inside the BM-SC's window and
// before expiry, re-key on an unknown TGK-ID (wired to the MkiEvaluator), backoff on 500s.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildMbmsKeyMessage, buildMki, deriveSrtpMasterKeys, loadCore, SrtpContext, type MbmsKeyDelivery, type TgkGrant,
} from "../src/index.js";
import {
  HEADER_NONCE, HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, HEADER_TIME, HEADER_USER, KEYS_PATH, parseAuthorization,
  requestAuthKey, requestMacInput, signRequest, verifyRequestMac,
} from "../src/mbms/http-protocol.js";
import { KeyClient, KeyClientError, MeTekSource, MkiEvaluator } from "../src/mbms/ue/index.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { rtpPacket } from "./helpers/rtp.js";

const core = loadCore();
const NOW = 1_800_000_000_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const USER = "sip:ue7@operator.example";
const SERVICE = "urn:mbms:tv:2";

/** A RequestSigner standing in for a card that holds `kek` (the card's mode F4). */
function kekHolder(kek: Uint8Array) {
  return { sign: async (r: { method: string; path: string; body: string | Uint8Array; timeMs: number }) => ({ ...signRequest({ kek, userId: USER, ...r }, core) }) };
}

/** A BM-SC holding TGK 7, a source and a card stand-in signer for the card-mode tests. */
function cardRig() {
  const clock = new ManualClock(NOW);
  const bmsc = new FakeBmsc(clock);
  bmsc.grant(7, NOW - HOUR, NOW + 2 * HOUR);
  return { clock, bmsc, source: new MeTekSource({ core, clock }), signer: kekHolder(bmsc.kek) };
}

interface Seen {
  at: number;
  have: number[];
}

/** The BM-SC: answers signed key requests with the TGKs in `tgks`, a window, or a scripted failure. */
class FakeBmsc {
  readonly kek = new Uint8Array(randomBytes(16));
  readonly tekRand = new Uint8Array(randomBytes(16));
  readonly csbId = 0x2a2a2a2a;
  tgks: TgkGrant[] = [];
  window: { from: number; window: number } | undefined;
  failures: (number | "network")[] = [];
  /** Answer a request naming TGKs with an update (no RAND), as the real key server does. */
  updates = false;
  readonly seen: Seen[] = [];
  constructor(private readonly clock: ManualClock) {}
  grant(tgkId: number, validFrom: number, expiresAt: number): TgkGrant {
    const g = { tgkId, tgk: new Uint8Array(randomBytes(16)), validFrom, expiresAt };
    this.tgks.push(g);
    return g;
  }
  fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    expect(String(url)).toBe(`https://bmsc.example${KEYS_PATH}`);
    const headers = new Headers(init!.headers);
    const body = String(init!.body);
    const mac = parseAuthorization(headers.get("authorization") ?? undefined);
    const input = requestMacInput("POST", KEYS_PATH, headers.get(HEADER_USER)!, headers.get(HEADER_TIME)!, headers.get(HEADER_NONCE)!, body);
    const kReq = requestAuthKey(this.kek, core);
    const ok = mac !== undefined && verifyRequestMac(kReq, input, mac, core);
    const { have } = JSON.parse(body) as { have: number[] };
    this.seen.push({ at: this.clock.now(), have });
    const fail = this.failures.shift();
    if (fail === "network") throw new TypeError("fetch failed");
    if (fail !== undefined) return new Response(JSON.stringify({ error: "internal" }), { status: fail });
    if (!ok || headers.get(HEADER_USER) !== USER) return new Response(JSON.stringify({ error: "unauthorized" }), { status: 401 });
    const msg = buildMbmsKeyMessage({
      kek: this.kek, bmscId: "bmsc.example", userId: USER, serviceId: SERVICE, csbId: this.csbId, tekRand: this.tekRand,
      profile: "AES_CM_128_HMAC_SHA1_80", tgks: this.tgks, streams: [{ ssrc: 0x77, roc: 0 }], nowMs: this.clock.now(),
      update: this.updates && have.length > 0,
    }, core);
    const h: Record<string, string> = { "content-type": "application/mikey" };
    if (this.window) {
      h[HEADER_REKEY_FROM] = String(this.window.from);
      h[HEADER_REKEY_WINDOW] = String(this.window.window);
    }
    // buildMbmsKeyMessage is typed Uint8Array (any ArrayBufferLike); a Response body must be backed by an
    // ArrayBuffer, which slice() guarantees (a copy).
    return new Response(msg.slice(), { status: 200, headers: h });
  };
}

function setup(extra: Partial<ConstructorParameters<typeof KeyClient>[0]> = {}) {
  const clock = new ManualClock(NOW);
  const bmsc = new FakeBmsc(clock);
  const source = new MeTekSource({ core, clock });
  const errors: unknown[] = [];
  const client = new KeyClient({
    baseUrl: "https://bmsc.example/", serviceId: SERVICE, userId: USER, kek: bmsc.kek, tekSource: source,
    fetch: bmsc.fetch, clock, core, onError: (e) => errors.push(e), ...extra,
  });
  return { clock, bmsc, source, client, errors };
}

describe("KeyClient", () => {
  it("a re-key it cannot open (an update, and no TEK_RAND kept) makes the next request an initial one", async () => {
    const clock = new ManualClock(NOW);
    const bmsc = new FakeBmsc(clock);
    bmsc.updates = true;
    bmsc.grant(7, NOW - HOUR, NOW + 2 * HOUR);
    // A source that lists TGK 7 but lost the service's TEK_RAND (as a restarted card would).
    const accepted: MbmsKeyDelivery[] = [];
    const source = {
      knownTgkIds: () => (accepted.length > 0 ? accepted[0]!.tgks.map((g) => g.tgkId) : [7]),
      tgkExpiries: () => new Map<number, number>(),
      accept: (d: MbmsKeyDelivery) => void accepted.push(d),
      tekRandFor: () => undefined,
    };
    const client = new KeyClient({
      baseUrl: "https://bmsc.example/", serviceId: SERVICE, userId: USER, kek: bmsc.kek, tekSource: source,
      fetch: bmsc.fetch, clock, core, backoffBaseMs: 10,
    });
    const started = client.start();
    await clock.advanceSettled(1000);
    const d = await started;
    expect(bmsc.seen.map((s) => s.have)).toEqual([[7], []]);
    expect([d.update, accepted.length]).toEqual([false, 1]);
    expect(client.stats.failures).toBe(1);
    client.stop();
  });

  it("initial keying: a signed request, the TGKs accepted, the next re-key inside the BM-SC's window", async () => {
    const { clock, bmsc, source, client } = setup();
    bmsc.grant(7, NOW - HOUR, NOW + 2 * HOUR);
    bmsc.grant(8, NOW + 2 * HOUR, NOW + 4 * HOUR);
    bmsc.window = { from: NOW + 30 * MIN, window: 20 * MIN };
    const d = await client.start();
    expect(d.tgks.map((g) => g.tgkId)).toEqual([7, 8]);
    expect(source.knownTgkIds().sort()).toEqual([7, 8]);
    expect(bmsc.seen).toEqual([{ at: NOW, have: [] }]);
    const at = client.nextRekeyAt!;
    expect(at).toBeGreaterThanOrEqual(NOW + 30 * MIN);
    expect(at).toBeLessThan(NOW + 50 * MIN);
    // Nothing happens before; the re-key happens at that instant and says what the UE holds.
    await clock.advanceSettled(at - NOW - 1);
    expect(bmsc.seen).toHaveLength(1);
    bmsc.grant(9, NOW + 4 * HOUR, NOW + 6 * HOUR);
    await clock.advanceSettled(2);
    expect(bmsc.seen).toHaveLength(2);
    expect(bmsc.seen[1]!.have.sort()).toEqual([7, 8]);
    expect(source.knownTgkIds().sort()).toEqual([7, 8, 9]);
    expect(client.stats).toMatchObject({ requests: 2, deliveries: 2, failures: 0 });
    client.stop();
  });

  it("without options.fetch, calls the global fetch on the global object (a browser refuses any other `this`)", async () => {
    const original = globalThis.fetch;
    let target: typeof fetch = original;
    // As browsers do: "TypeError: Illegal invocation" when called on another object (e.g. the client).
    globalThis.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      if (this !== globalThis && this !== undefined) throw new TypeError("Illegal invocation");
      return target(input, init);
    } as typeof fetch;
    try {
      const { bmsc, client } = setup({ fetch: undefined });
      target = bmsc.fetch;
      bmsc.grant(7, NOW - HOUR, NOW + 2 * HOUR);
      expect((await client.start()).tgks.map((g) => g.tgkId)).toEqual([7]);
      client.stop();
    } finally {
      globalThis.fetch = original;
    }
  });

  it("spreads re-keys uniformly over the window (many UEs: no implosion)", async () => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const { bmsc, client } = setup();
      bmsc.grant(1, NOW - HOUR, NOW + 10 * HOUR);
      bmsc.window = { from: NOW + HOUR, window: HOUR };
      await client.start();
      times.push(client.nextRekeyAt! - (NOW + HOUR));
      client.stop();
    }
    expect(Math.min(...times)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...times)).toBeLessThan(HOUR);
    // Each quarter of the window gets a fair share (expected 50 each).
    const quarters = [0, 0, 0, 0];
    for (const t of times) quarters[Math.floor((t / HOUR) * 4)]!++;
    for (const q of quarters) expect(q).toBeGreaterThan(20);
  });

  it("re-keys before the earliest TGK expires even when the window is later", async () => {
    const { bmsc, client } = setup({ expiryMarginMs: 2 * MIN });
    bmsc.grant(1, NOW - HOUR, NOW + 30 * MIN);
    bmsc.window = { from: NOW + 2 * HOUR, window: HOUR };
    await client.start();
    expect(client.nextRekeyAt!).toBeLessThanOrEqual(NOW + 28 * MIN);
    expect(client.nextRekeyAt!).toBeGreaterThanOrEqual(NOW + 26 * MIN);
    client.stop();
  });

  it("an unknown TGK-ID reported by the MkiEvaluator re-keys at once (rate-limited) and the stream resumes", async () => {
    const { clock, bmsc, source, client } = setup({ minRekeyIntervalMs: 5000 });
    const a = bmsc.grant(0x10, NOW - HOUR, NOW + HOUR);
    bmsc.window = { from: NOW + 50 * MIN, window: 5 * MIN };
    await client.start();
    const got: number[] = [];
    const ev = new MkiEvaluator({
      tekSource: source, core, now: () => clock.now(), onUnknownTgk: client.rekeyNow, unknownTgkIntervalMs: 100,
      onPacket: (p) => got.push((p[2]! << 8) | p[3]!),
    });
    // The BM-SC starts the next TGK early (the UE missed its announcement).
    const b = bmsc.grant(0x11, NOW, NOW + 2 * HOUR);
    const send = (g: TgkGrant, seq: number) => {
      const mki = buildMki(g.tgkId, new Uint8Array(8).fill(seq >> 4));
      const k = deriveSrtpMasterKeys({ tgk: g.tgk, tgkId: g.tgkId, csbId: bmsc.csbId, csId: 1, tekRand: bmsc.tekRand, mki }, { core });
      const tx = new SrtpContext({ keys: [{ key: k.masterKey, salt: k.masterSalt, mki }] }, core);
      tx.setIndex(0x77, seq - 1, { send: true });
      const plain = rtpPacket({ seq, ssrc: 0x77, payload: 50 });
      const buf = new Uint8Array(plain.length + 22);
      buf.set(plain);
      const n = tx.protect(buf, plain.length);
      tx.close();
      return buf.subarray(0, n);
    };
    await clock.advanceSettled(10_000); // past the on-demand interval of the initial keying
    expect(ev.receive(send(a, 1))).toBeGreaterThan(0);
    for (let seq = 2; seq < 12; seq++) {
      await clock.advanceSettled(20);
      ev.receive(send(b, seq));
    }
    await clock.advanceSettled(20);
    expect(bmsc.seen).toHaveLength(2); // one re-key
    expect(client.stats.rekeyNowCalls).toBe(1); // the re-key answered before the hook fired again
    expect(source.knownTgkIds().sort()).toEqual([0x10, 0x11]);
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Within the interval a further request is deferred to its end, not sent.
    client.rekeyNow();
    await clock.advanceSettled(1000);
    expect(bmsc.seen).toHaveLength(2);
    await clock.advanceSettled(4100);
    expect(bmsc.seen).toHaveLength(3);
    ev.close();
    client.stop();
  });

  it("retries 500s and network errors with exponential backoff and jitter", async () => {
    const { clock, bmsc, client } = setup({ backoffBaseMs: 1000 });
    bmsc.grant(1, NOW - HOUR, NOW + HOUR);
    bmsc.failures = [500, "network", 503, 502];
    const done = client.start();
    await clock.advanceSettled(60_000);
    await expect(done).resolves.toMatchObject({ serviceId: SERVICE });
    expect(bmsc.seen).toHaveLength(5);
    const gaps = bmsc.seen.slice(1).map((s, i) => s.at - bmsc.seen[i]!.at);
    gaps.forEach((g, n) => {
      expect(g).toBeGreaterThanOrEqual((1000 * 2 ** n) / 2);
      expect(g).toBeLessThanOrEqual(1000 * 2 ** n);
    });
    expect(client.stats).toMatchObject({ requests: 5, failures: 4, deliveries: 1 });
    client.stop();
  });

  it("gives up after maxAttempts, reports ERR_HTTP and comes back later", async () => {
    const { clock, bmsc, client, errors } = setup({ maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 10_000 });
    bmsc.grant(1, NOW - HOUR, NOW + HOUR);
    bmsc.failures = [500, 500, 500];
    const done = client.start();
    const caught = done.catch((e: unknown) => e);
    await clock.advanceSettled(1000);
    const e = await caught;
    expect(e).toBeInstanceOf(KeyClientError);
    expect(e).toMatchObject({ code: "ERR_HTTP", httpStatus: 500, retryable: true });
    expect(errors).toHaveLength(1);
    expect(bmsc.seen).toHaveLength(3);
    await clock.advanceSettled(10_000);
    expect(bmsc.seen).toHaveLength(4);
    expect(client.stats.deliveries).toBe(1);
    client.stop();
  });

  it("a refused signature is ERR_UNAUTHORIZED and is not retried at once", async () => {
    const { clock, bmsc, client } = setup({ kek: new Uint8Array(16) });
    bmsc.grant(1, NOW - HOUR, NOW + HOUR);
    const caught = client.start().catch((e: unknown) => e);
    await clock.advanceSettled(5000);
    expect(await caught).toMatchObject({ code: "ERR_UNAUTHORIZED", httpStatus: 401 });
    expect(bmsc.seen).toHaveLength(1);
    client.stop();
  });

  it("ME mode keeps a replay cache of its own: a recorded key response played again is refused", async () => {
    let recorded: Uint8Array | undefined;
    // An on-path attacker (or a stale cache) answers the re-key with the first key message again.
    const replaying = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (recorded === undefined) {
        const res = await bmsc.fetch(url, init);
        recorded = new Uint8Array(await res.arrayBuffer());
      }
      return new Response(recorded.slice(), { status: 200, headers: { "content-type": "application/mikey" } });
    };
    const { clock, bmsc, client, errors } = setup({ fetch: replaying, minRekeyIntervalMs: 1000 });
    bmsc.grant(1, NOW - HOUR, NOW + HOUR);
    await client.start();
    await clock.advanceSettled(5000); // inside the clock skew: the timestamp alone would pass
    client.rekeyNow();
    await clock.advanceSettled(1);
    expect(client.stats).toMatchObject({ requests: 2, deliveries: 1 });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/ERR_REPLAY/);
    client.stop();
  });

  it("refuses a 200 that is not application/mikey", async () => {
    const clock = new ManualClock(NOW);
    const source = new MeTekSource({ core, clock });
    const client = new KeyClient({
      baseUrl: "https://bmsc.example", serviceId: SERVICE, userId: USER, kek: new Uint8Array(16), tekSource: source, core,
      clock, fetch: async () => new Response("<html>", { status: 200, headers: { "content-type": "text/html" } }),
    });
    await expect(client.start()).rejects.toMatchObject({ code: "ERR_PROTOCOL" });
    client.stop();
  });
});

describe("KeyClient credentials (ME: KEK; UICC: a card that signs and takes the key message)", () => {
  it("card mode: the card's SoftCard signs (mode F4) and takes the bytes (mode 01); the client holds no KEK", async () => {
    const { UiccProxy, UiccTekSource, cardCredentials } = await import("../src/mbms/uicc/index.js");
    const { SoftCard } = await import("../src/mbms/uicc/soft-card.js");
    const clock = new ManualClock(NOW);
    const bmsc = new FakeBmsc(clock);
    bmsc.grant(7, NOW - HOUR, NOW + 2 * HOUR);
    bmsc.grant(8, NOW + 2 * HOUR, NOW + 4 * HOUR);
    // An in-process card (no worker) behind the proxy.
    const card = new SoftCard(bmsc.kek, { core });
    const modes: number[] = [];
    let respond: ((r: { id: number; apdu: ArrayBuffer }) => void) | undefined;
    const proxy = new UiccProxy({
      post: (r) => {
        const apdu = new Uint8Array(r.apdu);
        modes.push(apdu[apdu[4] === 0 ? (apdu[8] === 0x82 ? 11 : apdu[8] === 0x81 ? 10 : 9) : (apdu[6] === 0x82 ? 9 : apdu[6] === 0x81 ? 8 : 7)]!);
        const out = card.process(apdu);
        queueMicrotask(() => respond!({ id: r.id, apdu: out.slice().buffer }));
      },
      listen: (onResponse) => { respond = onResponse; },
      terminate: async () => {},
    });
    const source = new UiccTekSource(proxy, { clock });
    const delivered: unknown[] = [];
    const client = new KeyClient({
      baseUrl: "https://bmsc.example/", serviceId: SERVICE, userId: USER, credentials: cardCredentials(source, USER), tekSource: source,
      fetch: bmsc.fetch, clock, core, onDelivery: (d) => delivered.push(d),
    });
    expect(client.mode).toBe("card");
    const d = await client.start();
    expect(d).toMatchObject({ kind: "card", serviceId: SERVICE, userId: USER, tgks: [{ tgkId: 7 }, { tgkId: 8 }] });
    // Clear facts only: no TGK; TEK_RAND is the message's clear RAND (the ME's half of Alternative 2 needs it).
    for (const g of d.tgks) expect(g).not.toHaveProperty("tgk");
    expect((d as { tekRand?: Uint8Array }).tekRand).toEqual(bmsc.tekRand);
    expect(delivered).toHaveLength(1);
    expect(modes).toEqual([0xf4, 0x01]);
    expect(source.knownTgkIds().sort()).toEqual([7, 8]);
    expect(client.nextRekeyAt).toBeDefined();
    const mki = buildMki(7, new Uint8Array(8).fill(3));
    expect(await source.deriveTek(mki)).toEqual(deriveSrtpMasterKeys(
      { tgk: bmsc.tgks[0]!.tgk, tgkId: 7, csbId: bmsc.csbId, csId: 1, tekRand: bmsc.tekRand, mki }, { core },
    ));
    client.stop();
  });

  it("card mode: a refused key message is a protocol error; the options are checked", async () => {
    const { clock, bmsc, source, signer } = cardRig();
    const refused = Object.assign(new Error("9862"), { code: "ERR_INCORRECT_MAC" });
    const client = new KeyClient({
      baseUrl: "https://bmsc.example", serviceId: SERVICE, userId: USER, tekSource: source, fetch: bmsc.fetch, clock, core,
      credentials: { kind: "card", signer, deliver: async () => { throw refused; } },
    });
    await expect(client.start()).rejects.toMatchObject({ code: "ERR_PROTOCOL", retryable: false });
    const base = { baseUrl: "https://bmsc.example", serviceId: SERVICE, userId: USER, tekSource: source };
    expect(() => new KeyClient({ ...base })).toThrow(/exactly one/);
    expect(() => new KeyClient({ ...base, kek: bmsc.kek, credentials: { kind: "kek", kek: bmsc.kek } })).toThrow(/exactly one/);
    expect(() => new KeyClient({ ...base, credentials: { kind: "kek", kek: bmsc.kek }, tekSource: { knownTgkIds: () => [], tgkExpiries: () => new Map() } })).toThrow(/accept/);
  });

  it("card mode: the service id is the card's answer (sealed in the message); only the user is checked before delivery", async () => {
    const { clock, bmsc, source, signer } = cardRig();
    const run = async (answer: unknown, userId = USER) => {
      let calls = 0;
      const client = new KeyClient({
        baseUrl: "https://bmsc.example", serviceId: SERVICE, userId, tekSource: source, fetch: bmsc.fetch, clock, core,
        credentials: { kind: "card", signer, deliver: async () => { calls++; return answer as never; } },
      });
      try {
        return { result: await client.start().then((d) => d, (e: unknown) => e), calls };
      } finally {
        client.stop();
      }
    };
    const tgks = [{ tgkId: 7, validFrom: NOW - HOUR, expiresAt: NOW + 2 * HOUR }];
    const ok = await run({ serviceId: SERVICE, tgks });
    expect(ok.result).toMatchObject({ kind: "card", serviceId: SERVICE, tgks });
    const other = await run({ serviceId: "urn:another", tgks });
    expect([other.calls, other.result]).toEqual([1, expect.objectContaining({ code: "ERR_PROTOCOL", message: expect.stringContaining("another service") })]);
    const none = await run(undefined);
    expect(none.result).toMatchObject({ code: "ERR_PROTOCOL" });
    // The user (IDr) is clear: a message for another user never reaches the card. (The fake BM-SC signs for USER.)
    const otherUser = await run({ serviceId: SERVICE, tgks }, "sip:mallory@operator.example");
    expect([otherUser.calls, otherUser.result]).toEqual([0, expect.objectContaining({ code: "ERR_PROTOCOL", message: expect.stringContaining("another user") })]);
  });
});
