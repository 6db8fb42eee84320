// Revocation takes effect (issue 16 item 4; docs/mbms-flows.md, "Revocation"). The real roles in one
// process on one ManualClock: SessionManager + createKeyServer on 127.0.0.1 + MbmsSender on the BM-SC side;
// three UeReceivers (KeyClient + MkiEvaluator) — alice (ME), carol (UICC: a SoftCard behind a UiccProxy,
// the ME holds no KEK) and eve (ME), who is removed, disabled or unsubscribed mid-stream. With revocation
// "fresh-tgk" the sender moves to a fresh TGK at once: eve decrypts no packet under it (her key requests
// are refused), alice and carol fetch it on demand (unknown TGK-ID, 200 ms of silence) and lose nothing,
// their packets queued meanwhile. With "none", eve keeps decrypting until her TGKs expire.
import { afterEach, describe, expect, it } from "vitest";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import { MemoryKeyStore } from "../src/mbms/bmsc/store/index.js";
import type { TekEvent } from "../src/mbms/bmsc/tek-event.js";
import { MbmsError } from "../src/mbms/errors.js";
import type { MbmsKeyDelivery } from "../src/mbms/key-message.js";
import { silentLogger, type Logger } from "../src/logger.js";
import { UeReceiver } from "../src/mbms/ue/ue-receiver.js";
import type { RevocationMode } from "../src/mbms/bmsc/revocation.js";
import { SoftCard } from "../src/mbms/uicc/soft-card.js";
import { startInProcessBmsc, type InProcessBmsc } from "./helpers/in-process-bmsc.js";
import { inProcessCard } from "./helpers/in-process-card.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { rtpPacket } from "./helpers/rtp.js";

const SERVICE = "urn:mbms:revocation:1";
const OTHER = "urn:mbms:revocation:2";
const LIFE = 20_000; // TGK_LIFE
const LEAD = 5_000; // the next TGK exists 5 s before expiry; retrieval window [E − 5 s, E − 2.5 s)
const PERIOD = 1_000; // TEK_RAND2
const STEP = 20; // ms between packets
const SSRC = 0x4e701ce;
const config = (serviceId = SERVICE) => ({ serviceId, tgkLifetimeMs: LIFE, tekRand2PeriodMs: PERIOD, nextTgkLeadMs: LEAD });

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const turn = () => new Promise<void>((r) => setImmediate(r));
const seqOf = (p: Uint8Array) => (p[2]! << 8) | p[3]!;

interface Ue {
  name: string;
  userId: string;
  kek: Uint8Array;
  rx: UeReceiver;
  /** Packet numbers decrypted. */
  got: Set<number>;
  /** HTTP statuses of its key requests, in order. */
  http: number[];
  errors: string[];
  /** Requests whose response body is not read yet. */
  pending: number;
  /** TGKs (hex) of the key messages an ME UE opened, for the log scan. */
  tgks: string[];
}

interface Bmsc extends InProcessBmsc {
  logs: string[];
  /** TGK-ID of each packet sent, by packet number. */
  sent: number[];
  teks: TekEvent[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bmsc(revocation?: RevocationMode, services = [config()]): Promise<Bmsc> {
  const logs: string[] = [];
  const logger: Logger = (level, message, fields) => logs.push(JSON.stringify({ level, message, fields }));
  const teks: TekEvent[] = [];
  const b = await startInProcessBmsc({
    logger, services, ...(revocation ? { revocation } : {}),
    onTek: (e) => teks.push({ ...e, masterKey: new Uint8Array(0), masterSalt: new Uint8Array(0) }),
  });
  cleanups.push(b.cleanup);
  return { ...b, logs, sent: [], teks };
}

async function ue(b: Bmsc, name: string, mode: "ME" | "UICC"): Promise<Ue> {
  const kek = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const u: Ue = { name, userId: `sip:${name}@revocation.invalid`, kek, got: new Set(), http: [], errors: [], pending: 0, tgks: [], rx: undefined! };
  await b.mgr.addUser(u.userId, kek, [SERVICE]);
  const fetchVia: typeof fetch = async (input, init) => {
    u.pending++;
    try {
      const res = await fetch(input, init);
      const body = new Uint8Array(await res.arrayBuffer());
      u.http.push(res.status);
      return new Response(body.length > 0 ? body : null, { status: res.status, headers: res.headers });
    } finally {
      u.pending--;
    }
  };
  let keying: ConstructorParameters<typeof UeReceiver>[0]["keying"];
  if (mode === "UICC") {
    keying = { mode: "UICC", card: inProcessCard(new SoftCard(kek)) };
  } else {
    keying = { mode: "ME", kek };
  }
  u.rx = new UeReceiver({
    baseUrl: `http://127.0.0.1:${b.port}`, serviceId: SERVICE, userId: u.userId, keying, clock: b.clock, rotationPeriodMs: PERIOD,
    onPacket: (rtp) => u.got.add(seqOf(rtp)),
    onDelivery: (d) => {
      if ("tgks" in d && !("kind" in d)) for (const g of (d as MbmsKeyDelivery).tgks) u.tgks.push(hex(g.tgk));
    },
    onError: (e) => u.errors.push(e.code),
    // Margins scaled to the 20 s TGK_LIFE (defaults: 60 s before expiry, 10 s between on-demand re-keys).
    keyClient: { fetch: fetchVia, minRekeyIntervalMs: 1000, expiryMarginMs: 1000 },
  });
  cleanups.push(() => u.rx.close());
  return u;
}

/** Lets the UEs' key requests (real HTTP on loopback) and TEK derivations finish while the clock stands. */
async function quiesce(ues: Ue[]): Promise<void> {
  await turn();
  for (let i = 0; ues.some((u) => u.pending > 0); i++) {
    if (i > 5000) throw new Error("a key request did not finish");
    await sleep(1);
  }
  await turn();
  await turn();
  await Promise.all(ues.map((u) => u.rx.settled()));
}

/** `steps` packets, STEP ms apart, each to every UE (its own copy: decrypted in place). */
async function stream(b: Bmsc, ues: Ue[], steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    await b.clock.advanceSettled(STEP);
    const n = b.sent.length;
    const plain = rtpPacket({ seq: n, ssrc: SSRC, payload: 100 });
    const buf = new Uint8Array(plain.length + b.sender.trailerLength);
    buf.set(plain);
    const len = b.sender.protect(buf, plain.length);
    expect(len, `packet ${n} withheld`).toBeGreaterThan(0);
    b.sent.push(new DataView(buf.buffer).getUint32(plain.length)); // the MKI's TGK-ID (4 bytes, then TEK_RAND2)
    for (const u of ues) u.rx.receive(buf.slice(0, len), len);
    await quiesce(ues);
  }
  for (const u of ues) u.rx.tick();
  await quiesce(ues);
}

async function keyed(b: Bmsc): Promise<Ue[]> {
  const ues = [await ue(b, "alice", "ME"), await ue(b, "carol", "UICC"), await ue(b, "eve", "ME")];
  for (const u of ues) await u.rx.start();
  for (const u of ues) expect(u.http, u.name).toEqual([200]);
  return ues;
}

const packets = (b: Bmsc, pred: (tgkId: number, n: number) => boolean) => b.sent.flatMap((id, n) => (pred(id, n) ? [n] : []));

function noKeysInLogs(b: Bmsc, ues: Ue[]): void {
  const log = b.logs.join("\n");
  const secrets = [...ues.flatMap((u) => [hex(u.kek), ...u.tgks]), ...b.store.listTgks(SERVICE).map((t) => hex(t.tgk.slice()))];
  expect(secrets.length).toBeGreaterThan(4);
  for (const s of secrets) expect(log.includes(s), "key bytes in the BM-SC log").toBe(false);
}

describe("revocation \"fresh-tgk\" (the default): a removed user's TGKs stop working at once", { timeout: 60_000 }, () => {
  const triggers = [
    ["removeUser", async (b: Bmsc, eve: Ue) => expect(await b.mgr.removeUser(eve.userId)).toBe(true), 401],
    ["setUserDisabled", (b: Bmsc, eve: Ue) => b.mgr.setUserDisabled(eve.userId, true), 401],
    ["reconcileUsers (eve unsubscribed)", async (b: Bmsc, eve: Ue, ues: Ue[]) => {
      const r = await b.mgr.reconcileUsers(ues.map((u) => ({ userId: u.userId, kek: u.kek, services: u === eve ? [] : [SERVICE] })));
      expect(r).toEqual({ added: 0, rekeyed: 0, disabled: 0, enabled: 0, resubscribed: 1 });
    }, 403],
  ] as const;

  it.each(triggers)("%s mid-stream: eve decrypts nothing under the fresh TGK, alice (ME) and carol (UICC) lose nothing", async (_what, revoke, refused) => {
    const b = await bmsc();
    const ues = await keyed(b);
    const [alice, carol, eve] = ues as [Ue, Ue, Ue];
    await stream(b, ues, 150); // 3 s: three TEK_RAND2 periods under the first TGK
    const before = b.sent.length;
    const oldId = b.sent[0]!;
    expect(new Set(b.sent)).toEqual(new Set([oldId]));
    const teksBefore = b.teks.length;

    await revoke(b, eve, ues);
    // The store: one TGK, fresh, valid from now; the old one is gone. A TEK under it was announced at once.
    const tgks = b.store.listTgks(SERVICE);
    expect(tgks.map((t) => [t.validFrom, t.expiresAt])).toEqual([[b.clock.now(), b.clock.now() + LIFE]]);
    const freshId = tgks[0]!.tgkId;
    expect(freshId).toBe(oldId + 1); // no future TGK existed yet: the next ID
    expect(b.teks.slice(teksBefore).map((e) => [e.tgkId, e.startsAt])).toEqual([[freshId, b.clock.now()]]);
    expect(b.logs.filter((l) => l.includes("TGK revoked"))).toHaveLength(1);

    await stream(b, ues, 150);
    const underFresh = packets(b, (id) => id === freshId);
    expect(underFresh[0]).toBe(before); // the very next packet
    expect(underFresh).toHaveLength(150);
    expect(b.sender.stats.withheld).toBe(0);

    for (const u of [alice, carol]) {
      expect(u.got.size, `${u.name} lost packets`).toBe(b.sent.length);
      expect(u.rx.stats.authFailed, u.name).toBe(0);
      expect(u.rx.stats.unknownTgkNotified, u.name).toBeGreaterThanOrEqual(1);
      expect(u.http, u.name).toEqual([200, 200]); // initial keying, then the fresh TGK on demand
      expect(u.rx.source.knownTgkIds(), u.name).toContain(freshId);
      expect(u.errors, u.name).toEqual([]);
    }
    // Eve: everything before, nothing from the fresh TGK on; asked (the same evidence) and was refused.
    expect(packets(b, (_id, n) => eve.got.has(n))).toEqual(packets(b, (id) => id === oldId));
    expect(underFresh.filter((n) => eve.got.has(n))).toEqual([]);
    expect(eve.http[0]).toBe(200);
    expect(eve.http.slice(1).length).toBeGreaterThanOrEqual(1);
    expect(new Set(eve.http.slice(1))).toEqual(new Set([refused]));
    expect(eve.errors).toContain("ERR_UNAUTHORIZED");
    expect(eve.rx.source.knownTgkIds()).not.toContain(freshId);
    noKeysInLogs(b, ues);
  });

  it("a future TGK already delivered is ended too: the fresh TGK-ID is 2 past the current one, and the UEs still take it on demand", async () => {
    const b = await bmsc();
    const ues = await keyed(b);
    const [alice, carol, eve] = ues as [Ue, Ue, Ue];
    // Past E − lead the next TGK exists; run to the UEs' scheduled re-keys ([E − 5 s, E − 2.5 s)), which bring it.
    await stream(b, ues, (LIFE - 2_000) / STEP);
    const [cur, next] = b.store.listTgks(SERVICE);
    expect(next!.tgkId).toBe(cur!.tgkId + 1);
    for (const u of ues) expect(u.rx.source.knownTgkIds().sort(), u.name).toEqual([cur!.tgkId, next!.tgkId]);
    const before = b.sent.length;
    expect(await b.mgr.removeUser(eve.userId)).toBe(true);
    const tgks = b.store.listTgks(SERVICE);
    expect(tgks.map((t) => t.tgkId)).toEqual([cur!.tgkId + 2]);
    // Past the old TGK's original expiry and well into the deleted next one's: still only the fresh TGK.
    await stream(b, ues, 5_000 / STEP);
    expect(new Set(b.sent.slice(before))).toEqual(new Set([cur!.tgkId + 2]));
    for (const u of [alice, carol]) {
      expect(u.got.size, u.name).toBe(b.sent.length);
      expect(u.rx.stats.authFailed, u.name).toBe(0);
    }
    expect(packets(b, (_id, n) => n >= before && eve.got.has(n))).toEqual([]);
    expect(packets(b, (_id, n) => n < before && !eve.got.has(n))).toEqual([]);
  });
});

describe("revocation \"none\": the old behaviour", { timeout: 60_000 }, () => {
  it("a removed user keeps decrypting until its TGKs expire; no fresh TGK", async () => {
    const b = await bmsc("none");
    const ues = await keyed(b);
    const [alice, carol, eve] = ues as [Ue, Ue, Ue];
    await stream(b, ues, 150);
    const firstId = b.sent[0]!;
    const firstExpiry = b.store.listTgks(SERVICE)[0]!.expiresAt;
    const teksBefore = b.teks.length;
    expect(await b.mgr.removeUser(eve.userId)).toBe(true);
    expect(b.teks.length).toBe(teksBefore);
    expect(b.store.listTgks(SERVICE).map((t) => t.expiresAt)).toEqual([firstExpiry]);
    // Run past the first TGK's expiry: the next TGK (generated E − lead, fetched by alice and carol on schedule).
    await stream(b, ues, (firstExpiry - b.clock.now() + 2_000) / STEP);
    const underFirst = packets(b, (id) => id === firstId);
    const underNext = packets(b, (id) => id !== firstId);
    expect(new Set(underNext.map((n) => b.sent[n]))).toEqual(new Set([firstId + 1]));
    expect(underNext.length).toBeGreaterThan(50);
    for (const u of [alice, carol]) expect(u.got.size, u.name).toBe(b.sent.length);
    // Eve decrypted every packet under her TGK, for 17 s after her removal, and none after it expired.
    expect(underFirst.filter((n) => !eve.got.has(n))).toEqual([]);
    expect(underNext.filter((n) => eve.got.has(n))).toEqual([]);
    expect(eve.http.slice(1).every((s) => s === 401)).toBe(true);
    expect(b.logs.some((l) => l.includes("TGK revoked"))).toBe(false);
  });
});

describe("revocation: what must change nothing", () => {
  const tgkState = (b: Bmsc, id = SERVICE) => b.store.listTgks(id).map((t) => [t.tgkId, t.validFrom, t.expiresAt]);

  it("an unknown user: removeUser is a no-op (false), setUserDisabled ERR_NOT_FOUND; bad ids and options are typed errors", async () => {
    const b = await bmsc();
    await b.mgr.addUser("sip:alice@x", new Uint8Array(16).fill(1), [SERVICE]);
    const tgks = tgkState(b);
    const teks = b.teks.length;
    const mki = hex((await b.mgr.currentTek(SERVICE)).mki);
    expect(await b.mgr.removeUser("sip:nobody@x")).toBe(false);
    const codeOf = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        expect(e).toBeInstanceOf(MbmsError);
        return (e as MbmsError).code;
      }
      return "no error";
    };
    expect(await codeOf(() => b.mgr.setUserDisabled("sip:nobody@x", true))).toBe("ERR_NOT_FOUND");
    expect(await codeOf(() => b.mgr.removeUser(""))).toBe("ERR_ARGUMENT");
    expect(await codeOf(() => b.mgr.removeUser(42 as unknown as string))).toBe("ERR_ARGUMENT");
    expect(await codeOf(() => new SessionManager({ store: new MemoryKeyStore(), revocation: "later" as RevocationMode }))).toBe("ERR_ARGUMENT");
    // No entitlement lost: enabling, disabling twice, removing a disabled user, a reconcile that changes nothing.
    await b.mgr.setUserDisabled("sip:alice@x", false);
    await b.mgr.reconcileUsers([{ userId: "sip:alice@x", kek: new Uint8Array(16).fill(1), services: [SERVICE] }]);
    expect(tgkState(b)).toEqual(tgks);
    expect(b.teks.length).toBe(teks);
    expect(hex((await b.mgr.currentTek(SERVICE)).mki)).toBe(mki);
    expect(b.store.getUser("sip:alice@x")?.disabled).toBe(false);
    await b.mgr.setUserDisabled("sip:alice@x", true); // this one revokes
    const after = tgkState(b);
    expect(after).not.toEqual(tgks);
    await b.mgr.setUserDisabled("sip:alice@x", true);
    expect(await b.mgr.removeUser("sip:alice@x")).toBe(true); // disabled already: nothing left to revoke
    expect(tgkState(b)).toEqual(after);
    expect(b.logs.filter((l) => l.includes("TGK revoked"))).toHaveLength(1);
  });

  it("only the services the user loses get a fresh TGK; before start() it is stored and announced at start", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const store = new MemoryKeyStore();
    const teks: TekEvent[] = [];
    const mgr = await SessionManager.create({ store, clock, logger: silentLogger, services: [config(), config(OTHER)], onTek: (e) => teks.push({ ...e }) });
    cleanups.push(() => store.close());
    await mgr.addUser("sip:a@x", new Uint8Array(16).fill(2), [OTHER]);
    const main = store.listTgks(SERVICE).map((t) => [t.tgkId, t.expiresAt]);
    const other = store.listTgks(OTHER).map((t) => t.tgkId);
    await clock.advanceSettled(1_000);
    expect(await mgr.removeUser("sip:a@x")).toBe(true);
    expect(teks).toEqual([]); // not running: nothing announced yet
    expect(store.listTgks(SERVICE).map((t) => [t.tgkId, t.expiresAt])).toEqual(main);
    const fresh = store.listTgks(OTHER);
    expect(fresh.map((t) => [t.tgkId, t.validFrom])).toEqual([[other[0]! + 1, clock.now()]]);
    await mgr.start();
    cleanups.push(() => mgr.stop());
    expect(teks.find((e) => e.serviceId === OTHER)).toMatchObject({ tgkId: other[0]! + 1, startsAt: clock.now() });
  });
});
