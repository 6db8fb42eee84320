// The UE key client (src/mbms/ue/key-client.ts) against the real BM-SC key server (createKeyServer over a
// SessionManager) on 127.0.0.1, with Node's fetch: both sides must sign and verify the same method, path and
// body bytes (a non-ASCII service id, a base URL with a trailing slash), the key message must open with the
// user's KEK and give the same TEK as the BM-SC, the scheduled re-key must fall in the BM-SC's retrieval window
// and bring the next TGK, and a wrong KEK or an unknown user must get a 401 that the client does not retry.
// The manager and the client share one ManualClock (time and timers), so the TGK schedule runs in no time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyServer, type KeyServer, type RequestInfo } from "../src/mbms/bmsc/key-server.js";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import type { TekEvent } from "../src/mbms/bmsc/tek-event.js";
import { silentLogger } from "../src/logger.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { MemoryKeyStore } from "../src/mbms/bmsc/store/index.js";
import { HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, KEYS_PATH } from "../src/mbms/http-protocol.js";
import type { MbmsKeyDelivery } from "../src/mbms/key-message.js";
import { KeyClient, KeyClientError, MeTekSource, MkiEvaluator } from "../src/mbms/ue/index.js";
import { SrtpContext } from "../src/srtp/index.js";
import { rtpPacket } from "./helpers/rtp.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const SERVICE = "urn:mbms:tv:ü-台-1"; // non-ASCII: the signed body is UTF-8 on both sides
const USER = "sip:ue1@operator.example";
const KEK = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);

const clock = new ManualClock(Date.now());
let mgr: SessionManager;
let ks: KeyServer;
let port = 0;
const infos: RequestInfo[] = [];
const teks: { mki: Uint8Array; key: Uint8Array; salt: Uint8Array; tgkId: number }[] = [];

interface Exchange { url: string; path: string; body: { serviceId: string; have: number[] }; status: number; from?: number; window?: number; at: number }

/** Node's fetch, recording what went over the wire. */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    const ex: Exchange = { url, path: new URL(url).pathname, body: JSON.parse(String(init?.body)), status: 0, at: clock.now() };
    log.push(ex);
    const res = await fetch(url, init);
    ex.status = res.status;
    if (res.headers.has(HEADER_REKEY_FROM)) {
      ex.from = Number(res.headers.get(HEADER_REKEY_FROM));
      ex.window = Number(res.headers.get(HEADER_REKEY_WINDOW));
    }
    return res;
  };
}

function client(opts: { kek?: Uint8Array; userId?: string; serviceId?: string; log: Exchange[]; source?: MeTekSource; onDelivery?: (d: MbmsKeyDelivery) => void }) {
  return new KeyClient({
    baseUrl: `http://127.0.0.1:${port}/`, serviceId: opts.serviceId ?? SERVICE, userId: opts.userId ?? USER, kek: opts.kek ?? KEK,
    tekSource: opts.source ?? new MeTekSource({ clock }), fetch: recordingFetch(opts.log),
    clock, maxAttempts: 3, backoffBaseMs: 10,
    ...(opts.onDelivery ? { onDelivery: opts.onDelivery } : {}),
  });
}

beforeAll(async () => {
  mgr = await SessionManager.create({
    store: new MemoryKeyStore(), logger: silentLogger, clock,
    services: [{ serviceId: SERVICE, tgkLifetimeMs: HOUR, tekRand2PeriodMs: 10 * MIN, nextTgkLeadMs: 15 * MIN }],
    onTek: (e: TekEvent) => teks.push({ mki: e.mki.slice(), key: e.masterKey.slice(), salt: e.masterSalt.slice(), tgkId: e.tgkId }),
  });
  await mgr.addUser(USER, KEK);
  await mgr.start();
  ks = createKeyServer({ manager: mgr, logger: silentLogger, onRequest: (i) => infos.push(i) });
  port = (await ks.listen(0, "127.0.0.1")).port;
});

afterAll(async () => {
  await mgr.stop();
  await ks.close();
});

describe("KeyClient ↔ createKeyServer over 127.0.0.1", { timeout: 15_000 }, () => {
  const log: Exchange[] = [];
  const source = new MeTekSource({ clock });
  const deliveries: MbmsKeyDelivery[] = [];
  let waiting: ((d: MbmsKeyDelivery) => void) | undefined;
  let kc: KeyClient; // made once the server listens (the base URL carries its port)
  afterAll(() => {
    kc?.stop();
    source.close();
  });

  it("initial keying: a signed request the server accepts, a key message the UE opens, the BM-SC's TEK", async () => {
    kc = client({ log, source, onDelivery: (d) => {
      deliveries.push(d);
      waiting?.(d);
    } });
    const d = await kc.start();
    expect(log).toHaveLength(1);
    expect(log[0]!.path).toBe(KEYS_PATH); // the trailing slash of the base URL is not doubled into the signed path
    expect(log[0]!.body).toEqual({ serviceId: SERVICE, have: [] });
    expect(log[0]!.status).toBe(200);
    expect(infos.at(-1)).toMatchObject({ status: 200, userId: USER, serviceId: SERVICE });
    expect(d.serviceId).toBe(SERVICE);
    expect(d.userId).toBe(USER);
    const tek = await mgr.currentTek(SERVICE);
    expect(d.tgks.map((g) => g.tgkId)).toEqual([tek.tgkId]);
    const ue = source.deriveTekSync(tek.mki)!;
    expect(Buffer.from(ue.masterKey).equals(Buffer.from(tek.masterKey))).toBe(true);
    expect(Buffer.from(ue.masterSalt).equals(Buffer.from(tek.masterSalt))).toBe(true);
    // The next re-key is scheduled inside the window the server named.
    const { from, window } = log[0]!;
    expect(kc.nextRekeyAt).toBeGreaterThanOrEqual(from!);
    expect(kc.nextRekeyAt).toBeLessThan(from! + window!);
    expect(from!).toBeGreaterThanOrEqual(d.tgks[0]!.expiresAt - 15 * MIN);
    expect(from! + window!).toBeLessThanOrEqual(d.tgks[0]!.expiresAt - 7.5 * MIN);
  });

  it("re-key: at its scheduled time the client reports the TGK it holds and gets the next one; the stream crosses the TGK change", async () => {
    const firstTgk = deliveries[0]!.tgks[0]!;
    const got = new Promise<MbmsKeyDelivery>((r) => (waiting = r));
    // Whole ms: the key store takes integer times (systemClock's Date.now()), the client schedules fractional ones.
    await clock.advanceSettled(Math.ceil(kc.nextRekeyAt!) - clock.now()); // runs the BM-SC's schedule (TGK 2 exists from E − lead) and the client's timer
    const d = await got;
    waiting = undefined;
    expect(log).toHaveLength(2);
    expect(log[1]!.body.have).toEqual([firstTgk.tgkId]);
    // The initial message carried TEK_RAND; the re-key does not (RFC 3830 §4.5): the source kept it.
    expect([deliveries[0]!.update, d.update]).toEqual([false, true]);
    expect(log[1]!.at).toBeGreaterThanOrEqual(log[0]!.from!);
    expect(log[1]!.at).toBeLessThan(log[0]!.from! + log[0]!.window!);
    expect(d.tgks.map((g) => g.tgkId)).toEqual([firstTgk.tgkId, firstTgk.tgkId + 1]);
    expect(source.knownTgkIds().sort()).toEqual([firstTgk.tgkId, firstTgk.tgkId + 1]);

    // Past TGK 1's expiry the BM-SC announces a TEK under TGK 2; the UE decrypts it with no request of its own.
    const requests = log.length;
    const before = teks.length;
    await clock.advanceSettled(firstTgk.expiresAt - clock.now() + 1);
    const next = teks.slice(before).find((t) => t.tgkId === firstTgk.tgkId + 1)!;
    expect(next).toBeDefined();
    const sender = new SrtpContext({ keys: [{ key: next.key, salt: next.salt, mki: next.mki }] });
    const received: number[] = [];
    const ev = new MkiEvaluator({ tekSource: source, now: clock.now.bind(clock), onPacket: (p) => received.push(p.length) });
    try {
      for (let seq = 0; seq < 5; seq++) {
        const pkt = rtpPacket({ seq, ssrc: 7, payload: 100 });
        const buf = new Uint8Array(pkt.length + sender.trailerLength);
        buf.set(pkt);
        const len = sender.protect(buf, pkt.length);
        expect(ev.receive(buf, len)).toBe(pkt.length);
      }
      expect(received).toHaveLength(5);
      expect(ev.stats.authFailed).toBe(0);
    } finally {
      ev.close();
      sender.close();
    }
    expect(log.length - requests).toBeLessThanOrEqual(1); // see test/mbms-flow.test.ts on KeyClient's extra re-key before expiry
  });

  it("401 for a wrong KEK and for an unknown user, not retried; 404 for an unknown service", async () => {
    for (const [what, opts, reason] of [
      ["wrong KEK", { kek: KEK.map((b) => b ^ 0xff) }, "bad_mac"],
      ["unknown user", { userId: "sip:nobody@operator.example" }, "unknown_user"],
    ] as const) {
      const l: Exchange[] = [];
      const c = client({ ...opts, log: l });
      const e = await c.start().then(() => undefined, (x: unknown) => x);
      c.stop();
      expect(e, what).toBeInstanceOf(KeyClientError);
      expect((e as KeyClientError).httpStatus, what).toBe(401);
      expect((e as KeyClientError).code, what).toBe("ERR_UNAUTHORIZED");
      expect((e as KeyClientError).retryable, what).toBe(false);
      expect(l.map((x) => x.status), what).toEqual([401]);
      expect(infos.at(-1), what).toMatchObject({ status: 401, reason });
    }
    const l: Exchange[] = [];
    const c = client({ serviceId: "urn:mbms:tv:unknown", log: l });
    const e = await c.start().then(() => undefined, (x: unknown) => x);
    c.stop();
    expect((e as KeyClientError).httpStatus).toBe(404);
    expect(l).toHaveLength(1); // 4xx: not retried
    expect(infos.at(-1)).toMatchObject({ status: 404, reason: "unknown_service", userId: USER });
  });
});
