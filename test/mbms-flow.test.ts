// End-to-end MBMS flow on loopback (docs/mbms-flows.md): a BM-SC child process (SqliteKeyStore,
// SessionManager, key server, SRTP sender — test/helpers/bmsc-child.mjs over dist/) streams to a mixed
// population of UEs in this process — three ME-based (MeTekSource) and one UICC-based (UiccTekSource over a
// soft card in a worker thread) — each a KeyClient (HTTP + MIKEY) in front of an MkiEvaluator on its own UDP
// socket. The UICC UE's ME holds no KEK: its KeyClient has card credentials (requests signed by the card,
// AUTHENTICATE mode F4; key messages forwarded as bytes, mode 01), and every APDU to and from its card's
// worker is recorded to show the KEK never crosses the boundary after provisioning (workerData). The stream runs through many TEK_RAND2 changes and three TGK expiries (the UEs re-key by
// themselves); mid-stream the BM-SC is SIGKILLed and restarted on the same SQLite file and port.
//
// Network: UDP unicast and HTTP on 127.0.0.1 only (docs/architecture.md §5). Multicast proper (a group address) is left
// to the CLI issue's network-namespace test, not here. Bounded: ~11 s of stream at 200 packets/s.
import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HEADER_REKEY_FROM, HEADER_REKEY_WINDOW } from "../src/mbms/http-protocol.js";
import { KeyClient, MeTekSource, MkiEvaluator, type KeyDelivery, type TekSource } from "../src/mbms/ue/index.js";
import { AuthMode, UiccProxy, UiccTekSource, cardCredentials, decodeAuthenticate, type CardChannel } from "../src/mbms/uicc/index.js";
import { nodeWorkerChannel, startCardWorker } from "../src/mbms/uicc/card-worker.js";
import { BmscProcess, DIST_CARD_WORKER, requireDist, type BmscConfig, type SentRange, type TekMessage } from "./helpers/bmsc-process.js";

const SERVICE = "urn:mbms:flow:1";
const PERIOD = 500; // TEK_RAND2 period
const LIFE = 3000; // TGK_LIFE
const LEAD = 1000; // next TGK generated this long before expiry; retrieval window [E − 1000, E − 500)
const INTERVAL = 5; // ms between packets: 200 packets/s
const SSRC = 0x5eed_f10e;
const RTP_HEADER = 12;
const MKI_LEN = 12;
const TAG_LEN = 10;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface HttpExchange {
  /** When the request was sent (ms since the epoch). */
  at: number;
  status: number;
  /** The retrieval window the BM-SC named in a 200. */
  from?: number;
  window?: number;
}

interface Ue {
  name: string;
  mode: "ME" | "UICC";
  userId: string;
  /**
   * The operator's copy of the user's KEK (registration at the BM-SC, and the log scan). ME UE: also given
   * to its KeyClient. UICC UE: written to the card at provisioning (workerData) and never to an ME object.
   */
  kek: Uint8Array;
  /** UICC UE: every APDU the ME sent to the card's worker and every answer, copied before transfer. */
  toCard: Uint8Array[];
  fromCard: Uint8Array[];
  socket: dgram.Socket;
  port: number;
  source: TekSource;
  evaluator?: MkiEvaluator;
  client?: KeyClient<KeyDelivery>;
  /** seq → wire MKI (hex) at arrival. */
  wireMki: Map<number, string>;
  /** packet number → MKI (hex) it arrived under, once decrypted. */
  delivered: Map<number, string>;
  duplicates: number;
  badPayload: number;
  refusals: Map<number, number>;
  http: HttpExchange[];
  deliveries: number;
  keyErrors: string[];
  close(): Promise<void>;
}

/** Everything the flow produced, for the assertions below. */
interface FlowResult {
  ues: Ue[];
  bmsc1: BmscProcess;
  bmsc2: BmscProcess;
  /** Sender ranges of both incarnations, in packet order. */
  ranges: SentRange[];
  teks: TekMessage[];
  killAt: number;
  restartedAt: number;
  portReused: boolean;
  tgkExpiries: number[];
  streamStart: number;
  streamEnd: number;
  /** Known key material (hex), for the log scan. */
  secrets: Map<string, string>;
  parentLog: string[];
  resourcesLeft: string[];
  /** ME-side objects of the UICC UE found holding its KEK's bytes (must be none). */
  meKekHolders: string[];
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Walks an object graph (own properties, Maps, Sets, arrays, byte arrays; not closures) for `needle`. */
function holdsBytes(root: unknown, needle: Uint8Array): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    if (seen.size > 200_000) throw new Error("object graph too large to walk");
    if (ArrayBuffer.isView(v)) {
      if (contains(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), needle)) return true;
      continue;
    }
    if (v instanceof ArrayBuffer) {
      if (v.byteLength > 0 && contains(new Uint8Array(v), needle)) return true;
      continue;
    }
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    if (v instanceof Set) for (const x of v) stack.push(x);
    for (const k of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (d && "value" in d) stack.push(d.value);
    }
  }
  return false;
}

let dir: string | undefined;

function seenInLog(log: string, bytesHex: string): boolean {
  const b64 = Buffer.from(bytesHex, "hex").toString("base64").replace(/=+$/, "");
  return log.includes(bytesHex) || log.includes(bytesHex.toUpperCase()) || log.includes(b64);
}

/** Resource kinds that must not outlive the flow (sockets, timers, processes, workers). */
const WATCHED = new Set(["UDPWRAP", "TCPWRAP", "TCPSocketWrap", "TCPServerWrap", "Timeout", "ProcessWrap", "PipeWrap", "MessagePort", "Worker"]);
const countWatched = () => {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (WATCHED.has(r)) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
};

async function makeUe(name: string, mode: "ME" | "UICC"): Promise<Ue> {
  const kek = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const toCard: Uint8Array[] = [];
  const fromCard: Uint8Array[] = [];
  let proxy: UiccProxy | undefined;
  if (mode === "UICC") {
    // Provisioning: the KEK goes to the card once, in workerData (transferred copy). Then only APDUs.
    const channel = nodeWorkerChannel(startCardWorker(kek, { workerUrl: DIST_CARD_WORKER }));
    const tapped: CardChannel = {
      post: (r) => {
        toCard.push(new Uint8Array(r.apdu.slice(0)));
        channel.post(r);
      },
      listen: (onResponse, onFault) => channel.listen((r) => {
        fromCard.push(new Uint8Array(r.apdu.slice(0)));
        onResponse(r);
      }, onFault),
      terminate: () => channel.terminate(),
    };
    proxy = new UiccProxy(tapped);
  }
  const source: TekSource = proxy ? new UiccTekSource(proxy) : new MeTekSource();
  const ue: Ue = {
    name, mode, userId: `sip:${name}@flow.invalid`, kek, toCard, fromCard, socket, port: socket.address().port, source,
    wireMki: new Map(), delivered: new Map(), duplicates: 0, badPayload: 0, refusals: new Map(), http: [], deliveries: 0, keyErrors: [],
    async close() {
      ue.client?.stop();
      ue.evaluator?.close();
      await new Promise<void>((r) => socket.close(() => r()));
      if (source instanceof UiccTekSource) await source.close();
      else (source as MeTekSource).close();
    },
  };
  return ue;
}

/**
 * Starts the UE's key client (initial keying) and evaluator. ME UE: KEK credentials and its MeTekSource.
 * UICC UE: card credentials (cardCredentials: the card signs each request, mode F4; each key message goes
 * to the card as bytes, UiccTekSource.deliver, mode 01) and its UiccTekSource; TEKs come from the card (F2).
 */
async function startUe(ue: Ue, port: () => number, onDelivery: (d: KeyDelivery) => void): Promise<void> {
  const fetchVia: typeof fetch = async (input, init) => {
    const url = String(input).replace(/^http:\/\/127\.0\.0\.1:\d+/, `http://127.0.0.1:${port()}`);
    const ex: HttpExchange = { at: Date.now(), status: 0 };
    ue.http.push(ex);
    const res = await fetch(url, init);
    ex.status = res.status;
    if (res.status === 200) {
      ex.from = Number(res.headers.get(HEADER_REKEY_FROM));
      ex.window = Number(res.headers.get(HEADER_REKEY_WINDOW));
    }
    return res;
  };
  const common = {
    baseUrl: `http://127.0.0.1:${port()}`, serviceId: SERVICE, userId: ue.userId, fetch: fetchVia,
    expiryMarginMs: 200, minRekeyIntervalMs: 400, backoffBaseMs: 100, backoffMaxMs: 800, maxAttempts: 8,
    onDelivery: (d: KeyDelivery) => {
      ue.deliveries++;
      onDelivery(d);
    },
    onError: (e: { code: string }) => ue.keyErrors.push(`${e.code}`),
  };
  const client: KeyClient<KeyDelivery> = ue.source instanceof UiccTekSource
    ? new KeyClient<KeyDelivery>({ ...common, credentials: cardCredentials(ue.source, ue.userId), tekSource: ue.source })
    : new KeyClient({ ...common, credentials: { kind: "kek", kek: ue.kek }, tekSource: ue.source as MeTekSource });
  ue.client = client;
  ue.evaluator = new MkiEvaluator({
    tekSource: ue.source, rotationPeriodMs: PERIOD, onUnknownTgk: client.rekeyNow,
    onPacket: (p) => {
      const v = new DataView(p.buffer, p.byteOffset, p.length);
      if (p.length !== RTP_HEADER + 40) {
        ue.badPayload++;
        return;
      }
      const n = v.getUint32(RTP_HEADER);
      let ok = v.getUint16(2) === (n & 0xffff) && v.getUint32(8) === SSRC;
      for (let i = 8; i < 40 && ok; i++) ok = p[RTP_HEADER + i] === ((n + i) & 0xff);
      if (!ok) {
        ue.badPayload++;
        return;
      }
      if (ue.delivered.has(n)) ue.duplicates++;
      ue.delivered.set(n, ue.wireMki.get(n & 0xffff) ?? "?");
    },
  });
  ue.socket.on("message", (msg: Buffer) => {
    if (msg.length >= RTP_HEADER + MKI_LEN + TAG_LEN) {
      const at = msg.length - MKI_LEN - TAG_LEN;
      ue.wireMki.set(msg.readUInt16BE(2), msg.subarray(at, at + MKI_LEN).toString("hex"));
    }
    const r = ue.evaluator!.receive(msg, msg.length);
    if (r < 0) ue.refusals.set(-r, (ue.refusals.get(-r) ?? 0) + 1);
  });
  await client.start();
}

async function runFlow(derivation: "alt1" | "alt2"): Promise<FlowResult> {
  requireDist();
  const before = countWatched();
  dir = mkdtempSync(join(tmpdir(), "mbms-flow-"));
  const secrets = new Map<string, string>();
  const parentLog: string[] = [];
  const restore: (() => void)[] = [];
  for (const m of ["log", "info", "warn", "error", "debug"] as const) {
    const orig = console[m].bind(console);
    const spy = vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      parentLog.push(format(...args));
      orig(...args);
    });
    restore.push(() => spy.mockRestore());
  }
  let bmscPort = 0;
  const ues: Ue[] = [];
  const tgkExpiries = new Set<number>();
  let bmsc1: BmscProcess | undefined;
  let bmsc2: BmscProcess | undefined;
  try {
    for (const [i, mode] of (["ME", "ME", "ME", "UICC"] as const).entries()) ues.push(await makeUe(`ue${i + 1}-${mode.toLowerCase()}`, mode));
    for (const ue of ues) secrets.set(hex(ue.kek), `KEK of ${ue.name}`);
    const base: Omit<BmscConfig, "incarnation"> = {
      dbPath: join(dir, "bmsc.sqlite"), serviceId: SERVICE, tgkLifetimeMs: LIFE, tekRand2PeriodMs: PERIOD, nextTgkLeadMs: LEAD,
      port: 0, uePorts: ues.map((u) => u.port), ssrc: SSRC, intervalMs: INTERVAL, derivation,
    };
    const onTek = (m: TekMessage) => {
      secrets.set(m.key, `TEK ${m.tgkId}@${m.startsAt}`);
      secrets.set(m.salt, `master salt ${m.tgkId}@${m.startsAt}`);
      secrets.set(m.mki, `MKI ${m.tgkId}@${m.startsAt}`);
      secrets.set(m.mki.slice(8), `TEK_RAND2 ${m.tgkId}@${m.startsAt}`);
    };

    // 1. The BM-SC, then user registration (the first incarnation writes the users to the SQLite file).
    bmsc1 = new BmscProcess({ ...base, incarnation: 1 }, { onTek });
    bmscPort = (await bmsc1.start()).port;
    for (const ue of ues) await bmsc1.addUser(ue.userId, hex(ue.kek));

    // 2. Initial keying of every UE (HTTP + MIKEY), then the stream.
    const onDelivery = (d: KeyDelivery) => {
      if ("kind" in d) {
        // The UICC UE: only the clear facts of what it forwarded to the card.
        for (const g of d.tgks) tgkExpiries.add(g.expiresAt);
        return;
      }
      secrets.set(hex(d.tekRand), "TEK_RAND");
      for (const g of d.tgks) {
        secrets.set(hex(g.tgk), `TGK ${g.tgkId}`);
        tgkExpiries.add(g.expiresAt);
      }
    };
    await Promise.all(ues.map((ue) => startUe(ue, () => bmscPort, onDelivery)));
    const firstExpiry = Math.min(...tgkExpiries);
    const serviceStart = firstExpiry - LIFE;
    const streamStart = Date.now();
    bmsc1.stream(streamStart);

    // 3–4. Let it run past one TGK expiry and into the third TGK, then SIGKILL just after a TEK_RAND2 change.
    await bmsc1.next("tek", 20_000, (m) => m.startsAt >= serviceStart + 2 * LIFE + 400);
    await sleep(30);
    const killAt = Date.now();
    await bmsc1.kill();
    bmsc2 = new BmscProcess({ ...base, incarnation: 2, port: bmscPort, t0: streamStart }, { onTek });
    const ready = await bmsc2.start();
    const restartedAt = Date.now();
    bmscPort = ready.port;

    // 5. Through the third TGK expiry, then stop the stream and let the last packets land.
    const end = serviceStart + 3 * LIFE + 1200;
    await sleep(Math.max(0, end - Date.now()));
    await bmsc2.stopStream();
    const streamEnd = Date.now();
    await sleep(200);
    await Promise.all(ues.map((u) => u.evaluator!.settled()));
    // The UICC UE's ME-side objects, walked while still open: none may hold the KEK's bytes.
    const meKekHolders = ues.filter((u) => u.mode === "UICC").flatMap((u) =>
      [["KeyClient", u.client], ["UiccTekSource", u.source], ["MkiEvaluator", u.evaluator]].filter(([, o]) => holdsBytes(o, u.kek)).map(([what]) => `${u.name}: ${what}`));

    const ranges = [...bmsc1.sent, ...bmsc2.sent].sort((a, b) => a.first - b.first);
    const r: FlowResult = {
      ues, bmsc1, bmsc2, ranges, teks: [...bmsc1.teks, ...bmsc2.teks], killAt, restartedAt, portReused: ready.portReused,
      tgkExpiries: [...tgkExpiries].sort((a, b) => a - b), streamStart, streamEnd, secrets, parentLog, resourcesLeft: [], meKekHolders,
    };
    printFigures(r);
    return r;
  } finally {
    for (const ue of ues) await ue.close().catch(() => undefined);
    await bmsc2?.stop();
    if (bmsc1 && bmsc1.child.exitCode === null && bmsc1.child.signalCode === null) await bmsc1.kill();
    for (const f of restore) f();
    await sleep(100);
    const after = countWatched();
    resourcesLeft = [...after].filter(([k, n]) => n > (before.get(k) ?? 0)).map(([k, n]) => `${k}×${n - (before.get(k) ?? 0)}`);
  }
}
/** Watched resources still open after the flow's cleanup (set in runFlow's finally). */
let resourcesLeft: string[] = [];

/** Sender packet number → MKI (hex), and the in-stream key switches (first packet under a new MKI). */
function senderView(ranges: SentRange[]) {
  const mkiOf = new Map<number, string>();
  for (const r of ranges) for (let n = r.first; n <= r.last; n++) mkiOf.set(n, r.mki);
  const switches: { packet: number; from: string; to: string; contiguous: boolean }[] = [];
  for (let i = 1; i < ranges.length; i++) {
    const a = ranges[i - 1]!, b = ranges[i]!;
    if (a.mki !== b.mki) switches.push({ packet: b.first, from: a.mki, to: b.mki, contiguous: b.first === a.last + 1 });
  }
  return { mkiOf, switches };
}

function printFigures(r: FlowResult): void {
  const { mkiOf, switches } = senderView(r.ranges);
  const inc1 = r.bmsc1.sent, inc2 = r.bmsc2.sent;
  const last1 = inc1.length ? inc1[inc1.length - 1]!.last : -1;
  const first2 = inc2.length ? inc2[0]!.first : -1;
  const lines = [
    `mbms flow: ${mkiOf.size} packets sent (incarnation 1: ${inc1.reduce((s, x) => s + x.last - x.first + 1, 0)}, incarnation 2: ${inc2.reduce((s, x) => s + x.last - x.first + 1, 0)}) over ${((r.streamEnd - r.streamStart) / 1000).toFixed(1)} s`,
    `  sender key switches: ${switches.length} (${switches.filter((s) => s.contiguous).length} in-stream), TEK announcements ${r.teks.length}, TGK expiries crossed ${r.tgkExpiries.filter((e) => e < r.streamEnd && e > r.streamStart).length}`,
    `  restart: SIGKILL → key server listening again in ${r.restartedAt - r.killAt} ms (port ${r.portReused ? "reused" : "changed"}); packets never sent: ${first2 - last1 - 1} (#${last1 + 1}..#${first2 - 1}); resumed TEK: ${r.bmsc2.teks[0]?.resumed ? "same MKI as before the kill" : "a new TEK_RAND2 period"}`,
    ...r.ues.map((u) => `  ${u.name}: delivered ${u.delivered.size}, switches ${u.evaluator?.stats.switches}, derivations ${u.evaluator?.stats.derivations}, authFailed ${u.evaluator?.stats.authFailed}, key requests ${u.http.length} (200: ${u.http.filter((h) => h.status === 200).length}), re-keys ${u.deliveries - 1}`),
  ];
  console.log(lines.join("\n"));
}

// Both TEK derivations of the founding document; the receivers are told neither (the key message says).
// Alternative 2's UICC UE takes the document's split: SK-TGK from the card (F5), the TEK derived in the ME.
for (const derivation of ["alt1", "alt2"] as const) describe(`MBMS flow (${derivation === "alt1" ? "Alternative 1" : "Alternative 2"}): BM-SC child process, 3 ME-based UEs and 1 UICC-based UE on 127.0.0.1`, () => {
  let result: FlowResult;
  beforeAll(async () => {
    result = await runFlow(derivation);
    result.resourcesLeft = resourcesLeft;
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("the BM-SC processes ran clean, and the run covered several TEK_RAND2 changes, three TGK expiries and the restart", () => {
    expect(result.bmsc1.errors).toEqual([]);
    expect(result.bmsc2.errors).toEqual([]);
    const { switches } = senderView(result.ranges);
    expect(switches.filter((s) => s.contiguous).length).toBeGreaterThanOrEqual(10);
    // TGK expiries crossed while streaming (each one a TEK change to the next TGK)
    const crossed = result.tgkExpiries.filter((e) => e > result.streamStart && e < result.streamEnd);
    expect(crossed.length).toBeGreaterThanOrEqual(3);
    expect(new Set(result.teks.map((t) => t.tgkId)).size).toBeGreaterThanOrEqual(4);
    expect(result.bmsc2.sent.length).toBeGreaterThan(0);
  });

  it("every packet reported sent is decrypted by every UE with the right payload, once, under the MKI it was sent with", () => {
    const { mkiOf } = senderView(result.ranges);
    expect(mkiOf.size).toBeGreaterThan(1500);
    const last1 = result.bmsc1.sent[result.bmsc1.sent.length - 1]!.last;
    const first2 = result.bmsc2.sent[0]!.first;
    for (const ue of result.ues) {
      const missing = [...mkiOf.keys()].filter((n) => !ue.delivered.has(n));
      expect(missing, `${ue.name} missed packets`).toEqual([]);
      const wrongMki = [...mkiOf].filter(([n, mki]) => ue.delivered.get(n) !== mki).map(([n]) => n);
      expect(wrongMki, `${ue.name}: packets under another MKI than sent`).toEqual([]);
      // Delivered but not reported: only the unreported tail of the killed incarnation (sent, report lost).
      const unreported = [...ue.delivered.keys()].filter((n) => !mkiOf.has(n));
      expect(unreported.every((n) => n > last1 && n < first2), `${ue.name}: packets nobody sent`).toBe(true);
      expect(ue.duplicates).toBe(0);
      expect(ue.badPayload).toBe(0);
    }
  });

  it("zero loss at every key switch; the UEs switch with the sender", () => {
    const { switches } = senderView(result.ranges);
    for (const ue of result.ues) {
      for (const s of switches) {
        for (let n = s.packet - 20; n <= s.packet + 20; n++) {
          const sent = result.ranges.some((r) => r.first <= n && n <= r.last);
          if (sent) expect(ue.delivered.has(n), `${ue.name}: packet ${n} around the switch at ${s.packet}`).toBe(true);
        }
        expect(ue.delivered.get(s.packet)).toBe(s.to);
      }
      expect(ue.evaluator!.stats.switches, ue.name).toBe(switches.length);
    }
  });

  it("zero authentication failures, refusals, drops, forged keys or on-demand re-keys for the genuine stream", () => {
    for (const ue of result.ues) {
      const s = ue.evaluator!.stats;
      expect({ name: ue.name, authFailed: s.authFailed, replayed: s.replayed, refused: s.refused, queuedDropped: s.queuedDropped, untrustedDropped: s.untrustedDropped, forgedKeys: s.forgedKeys, derivationErrors: s.derivationErrors, unknownTgkNotified: s.unknownTgkNotified })
        .toEqual({ name: ue.name, authFailed: 0, replayed: 0, refused: 0, queuedDropped: 0, untrustedDropped: 0, forgedKeys: 0, derivationErrors: 0, unknownTgkNotified: 0 });
      // The only non-delivery status: queued (the UICC UE's first packets under a new MKI wait for the card).
      expect([...ue.refusals.keys()].filter((k) => k !== 100), ue.name).toEqual([]);
      expect(ue.client!.stats.rekeyNowCalls).toBe(0);
    }
  });

  it("each UE re-keyed by itself before every TGK expiry (several TGKs per message), and never needed to because of the restart", () => {
    for (const ue of result.ues) {
      // Initial keying + at least one re-key per TGK expiry crossed.
      expect(ue.deliveries, ue.name).toBeGreaterThanOrEqual(1 + 3);
      const around = ue.http.filter((h) => h.at >= result.killAt && h.at <= result.restartedAt + 300);
      expect(around, `${ue.name}: key requests around the restart`).toEqual([]);
      expect(ue.keyErrors, ue.name).toEqual([]);
    }
  });

  it("the restarted BM-SC resumed the same TGKs, TEK_RAND and TEK_RAND2 from the SQLite file", () => {
    const before = result.bmsc1.teks[result.bmsc1.teks.length - 1]!;
    const resumed = result.bmsc2.teks[0]!;
    expect(resumed).toBeDefined();
    if (resumed.resumed) {
      // Same period: the very same TEK and MKI, and the UEs needed no new derivation.
      expect({ tgkId: resumed.tgkId, mki: resumed.mki, key: resumed.key, salt: resumed.salt, startsAt: resumed.startsAt })
        .toEqual({ tgkId: before.tgkId, mki: before.mki, key: before.key, salt: before.salt, startsAt: before.startsAt });
    } else {
      // The period ended while it was down: a new TEK_RAND2 on the same grid, under a TGK the UEs hold.
      expect((resumed.startsAt - before.startsAt) % PERIOD).toBe(0);
    }
    const knownTgks = new Set(result.bmsc1.teks.map((t) => t.tgkId));
    const tgkInForce = result.bmsc1.teks.filter((t) => t.startsAt <= result.killAt).at(-1)!;
    expect(knownTgks.has(resumed.tgkId)).toBe(true);
    expect(resumed.tgkId).toBe(tgkInForce.tgkId);
  });

  it("no key material in any log line (BM-SC stdout/stderr, this process's console)", () => {
    const childLog = result.bmsc1.output + result.bmsc2.output;
    expect(childLog).toContain("TEK_RAND2 rotated"); // the logs were captured
    const parentLog = result.parentLog.join("\n");
    expect(parentLog).toContain("mbms flow:");
    expect(result.secrets.size).toBeGreaterThan(20);
    const leaks = [...result.secrets].filter(([h]) => seenInLog(childLog, h) || seenInLog(parentLog, h)).map(([, what]) => what);
    expect(leaks).toEqual([]);
  });

  it("the UICC UE's ME holds no KEK: the card signs (F4) and takes key messages (01); the KEK never crosses the boundary", () => {
    const ue = result.ues.find((u) => u.mode === "UICC")!;
    // The ME-side configuration has no KEK: card credentials, no kek option.
    const options = (ue.client as unknown as { o: Record<string, unknown> }).o;
    expect(options).not.toHaveProperty("kek");
    expect((options.credentials as { kind: string }).kind).toBe("card");
    expect(options.credentials).not.toHaveProperty("kek");
    expect(ue.client!.mode).toBe("card");
    expect(result.meKekHolders).toEqual([]);
    // The ME-based UEs are the control: the same walk finds their KEK in their KeyClient.
    for (const me of result.ues.filter((u) => u.mode === "ME")) expect(holdsBytes(me.client, me.kek), me.name).toBe(true);
    // What crossed the boundary: F4 per key request, 01 per key message, F2 (Alternative 1) or F5 (Alternative 2)
    // per new MKI; never the KEK.
    const modes = new Map<number, number>();
    for (const apdu of ue.toCard) {
      const mode = decodeAuthenticate(apdu.slice()).mode;
      modes.set(mode, (modes.get(mode) ?? 0) + 1);
    }
    expect(modes.get(AuthMode.SignKeyRequest)).toBe(ue.client!.stats.requests);
    expect(modes.get(AuthMode.KeyMessage)).toBe(ue.deliveries);
    const [keyMode, unused] = derivation === "alt1" ? [AuthMode.TekFromMki, AuthMode.SkTgkFromMki] : [AuthMode.SkTgkFromMki, AuthMode.TekFromMki];
    expect(modes.get(keyMode) ?? 0).toBeGreaterThanOrEqual(10);
    expect(modes.get(unused) ?? 0).toBe(0);
    expect(ue.fromCard.length).toBe(ue.toCard.length);
    const kekHex = hex(ue.kek);
    for (const buf of [...ue.toCard, ...ue.fromCard]) {
      expect(contains(buf, ue.kek)).toBe(false);
      expect(hex(buf)).not.toContain(kekHex);
    }
    console.log(`  ${ue.name} card traffic: ${ue.toCard.length} APDUs (F4 ${modes.get(AuthMode.SignKeyRequest)}, 01 ${modes.get(AuthMode.KeyMessage)}, F2 ${modes.get(AuthMode.TekFromMki) ?? 0}, F5 ${modes.get(AuthMode.SkTgkFromMki) ?? 0}, F3 ${modes.get(AuthMode.DeleteTgk) ?? 0}), ${ue.toCard.reduce((n, b) => n + b.length, 0)} bytes to the card, ${ue.fromCard.reduce((n, b) => n + b.length, 0)} back; KEK bytes in any: none`);
  });

  it("every socket, timer, worker and child process is closed at the end", () => {
    expect(result.resourcesLeft).toEqual([]);
  });

  // The implosion mitigation end to end: after the first keying, every request falls inside the window the
  // BM-SC named in its previous answer (KeyClient caps its re-key by the last-expiring TGK it holds).
  it("re-keys happen only inside the retrieval windows the BM-SC named", () => {
    for (const ue of result.ues) {
      const outside: string[] = [];
      let prev: HttpExchange | undefined;
      for (const h of ue.http) {
        if (prev?.from !== undefined && prev.window !== undefined && (h.at < prev.from - 5 || h.at > prev.from + prev.window + 150)) {
          outside.push(`${h.at - prev.from} ms after from (window ${prev.window} ms)`);
        }
        if (h.status === 200) prev = h;
      }
      expect(outside, ue.name).toEqual([]);
    }
  });
});
