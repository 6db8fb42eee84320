// `mbms-srtp send --store FILE.sqlite`: the BM-SC's keys survive a restart. Three runs of `send` (synthetic
// source, 4 Mbit/s, TEK_RAND2 every second, TGK lifetime 1 h so no TGK changes within the test):
//
//   1. --store keys.sqlite (new file). A `receive` (ME, KEK) decrypts it. A UE inside this test (KeyClient +
//      MeTekSource + MkiEvaluator from src/mbms/ue) keys itself once from this run's key server and then
//      never asks again: it holds run 1's TGK and nothing else.
//   2. The same command again, on the same file, after run 1 has exited. Its key server is another process
//      on another port. The test's UE decrypts every packet of this run with run 1's TGK, never hearing of an
//      unknown TGK-ID, and a `receive` keyed from run 2's key server decrypts it too (packets teed to it by
//      the test): the restarted BM-SC sends and serves the same TGK (and TEK_RAND, CSB ID). The file's TGK
//      records, read between and after the runs, are the same (IDs, lifetimes, key bytes: compared, never
//      printed).
//   3. The negative control: the same restart without --store (an in-memory store) gets a new TGK under the
//      same TGK-ID 1 (IDs start at 1 in a new store, so the TGK-ID alone proves nothing), and the test's UE
//      keyed in run 1 decrypts none of it: every packet fails authentication. So run 2's decryption is what
//      shows persistence, not an artefact.
//
// The store holds KEKs and TGKs in clear: the file (and its -wal/-shm while open) must be mode 0600.
// Run 2 starts inside run 1's last TEK_RAND2 period (4 s periods here, checked against the store), where
// the session manager resumes the same TEK. The restarted sender may send under it: it registers another
// random SSRC in the store (and a random first sequence number), so its keystream differs (RFC 3711 §9.1).
// Every datagram of both runs is captured: no run-2 packet n may carry the encrypted payload of run 1's
// packet n (the synthetic source's plaintexts are the same in both runs, so a reused keystream shows as
// identical bytes); the UEs learn each run's SSRC and check it against the sender's summary.
//
// Runs dist/cli/main.js (build first). Bounded: < 25 s. Network: 127.0.0.1 only. No key bytes are printed.
import { randomBytes, timingSafeEqual } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, cli, freeUdpPort, killChildren, lastJson, type Exit, type ReceiveSummary, type SendSummary } from "./helpers/processes.js";
import { SqliteKeyStore } from "../src/mbms/bmsc/store/index.js";
import { KeyClient, MeTekSource, MkiEvaluator } from "../src/mbms/ue/index.js";

const SERVICE = "urn:mbms:store:1";
const USER = "sip:ue-me@store.invalid";
const KEK_HEX = randomBytes(16).toString("hex");
const BITRATE = 4e6;
const PAYLOAD = 1200;
const HOUR = 3_600_000;
const PERIOD = 4000; // TEK_RAND2: run 2 restarts inside run 1's last period

const sockets = new Set<dgram.Socket>();
const cleanups: (() => void)[] = [];
let dir = "";
let config = "";
let storePath = "";

async function bindUdp(port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  sockets.add(s);
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, "127.0.0.1", () => resolve());
  });
  return s;
}

async function closeUdp(s: dgram.Socket): Promise<void> {
  if (!sockets.delete(s)) return;
  await new Promise<void>((r) => s.close(() => r()));
}

const keyServerUrl = (line: string) => {
  expect(line).toMatch(/^key server http:\/\/127\.0\.0\.1:\d+$/);
  return line.slice("key server ".length);
};


function sendArgs(port: number, durationS: number, store: string | undefined): string[] {
  return ["send", "--dest", `127.0.0.1:${port}`, "--config", config, ...(store ? ["--store", store] : []), "--bitrate", String(BITRATE),
    "--packet-size", String(PAYLOAD), "--duration", String(durationS), "--json"];
}

function receiveArgs(port: number, keyServer: string, durationS: number): string[] {
  return ["receive", "--port", String(port), "--key-server", keyServer, "--service", SERVICE, "--user", USER, "--kek", KEK_HEX,
    "--mode", "me", "--tek-period", String(PERIOD), "--packet-size", String(PAYLOAD), "--duration", String(durationS), "--json"];
}

/** Checks a `receive` summary against the sender's count N: every packet from its first on, nothing rejected. */
function expectComplete(run: Exit, N: number, what: string): ReceiveSummary {
  expect(run.stderr, what).toBe("");
  const x = lastJson<ReceiveSummary>(run.stdout);
  expect(x.firstPacket, what).toBeGreaterThanOrEqual(0);
  expect(x.firstPacket, what).toBeLessThan(N / 2);
  expect({ what, delivered: x.delivered, lastPacket: x.lastPacket, lost: x.lost, authFailed: x.authFailed, replayed: x.replayed, badPackets: x.badPackets, duplicates: x.duplicates, keyErrors: x.keyErrors })
    .toEqual({ what, delivered: N - x.firstPacket, lastPacket: N - 1, lost: 0, authFailed: 0, replayed: 0, badPackets: 0, duplicates: 0, keyErrors: 0 });
  expect(x.ok, what).toBe(true);
  expect(run.code, what).toBe(0);
  return x;
}

function expectSent(run: Exit, durationS: number, what: string): SendSummary {
  expect(run.stderr, what).toBe("");
  expect(run.code, what).toBe(0);
  const s = lastJson<SendSummary>(run.stdout);
  expect(s.keyServer.errors, what).toBe(0);
  const pps = BITRATE / (8 * (12 + PAYLOAD));
  expect(s.sender.packets, what).toBeGreaterThan(0.8 * durationS * pps);
  return s;
}

/** Mode bits of the store and of its -wal / -shm files where they exist. */
function storeModes(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) out[`keys.sqlite${suffix}`] = (statSync(path + suffix).mode & 0o777).toString(8);
  }
  return out;
}

/** What the store holds for the service, read through SqliteKeyStore (key bytes kept in memory only). */
interface Snapshot {
  tgks: { tgkId: number; validFrom: number; expiresAt: number }[];
  tgkBytes: Uint8Array[];
  csbId: number;
  tekRand: Uint8Array;
  userIds: string[];
  kek: Uint8Array;
}

function snapshot(path: string): Snapshot {
  const store = new SqliteKeyStore(path);
  try {
    const tgks = store.listTgks(SERVICE);
    const svc = store.getService(SERVICE);
    const user = store.getUser(USER);
    if (!svc || !user) throw new Error("the store lacks the service or the user");
    return {
      tgks: tgks.map((t) => ({ tgkId: t.tgkId, validFrom: t.validFrom, expiresAt: t.expiresAt })),
      tgkBytes: tgks.map((t) => t.tgk), csbId: svc.csbId, tekRand: svc.tekRand, userIds: store.listUserIds(), kek: user.kek,
    };
  } finally {
    store.close();
  }
}

function wipe(s: Snapshot): void {
  for (const b of [...s.tgkBytes, s.tekRand, s.kek]) b.fill(0);
}

/** Equal bytes, as a boolean: a failing expect then prints true/false, never the key bytes. */
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) => !!a && !!b && a.length === b.length && timingSafeEqual(a, b);

/** Tees datagrams to `teeTo` and keeps a copy of each by RTP sequence number. */
async function captureTee(teeTo: number, capture: Map<number, Buffer>) {
  const sock = await bindUdp();
  sock.on("message", (msg: Buffer) => {
    sock.send(msg, teeTo, "127.0.0.1");
    capture.set(msg.readUInt16BE(2), Buffer.from(msg));
  });
  return sock.address().port;
}

/** A UE in this process: a UDP socket, an MkiEvaluator over `source`, and a count of checked packets. */
async function testUe(source: MeTekSource, teeTo?: number, capture?: Map<number, Buffer>) {
  const sock = await bindUdp();
  const seen = new Set<number>();
  let bad = 0;
  // The sender's SSRC and first sequence number (random, registered), learned from the first authenticated packet.
  let ssrc: number | undefined;
  let firstSeq: number | undefined;
  let unknownTgk = 0;
  const evaluator = new MkiEvaluator({
    tekSource: source, rotationPeriodMs: PERIOD,
    onUnknownTgk: () => {
      unknownTgk++;
    },
    onPacket: (p) => {
      // The synthetic source's packet n: 12-byte header with sequence number firstSeq + n mod 2^16 and the
      // sender's SSRC, then n (32 bits) and a pattern; checked here on the header and n.
      const v = new DataView(p.buffer, p.byteOffset, p.length);
      const n = p.length === 12 + PAYLOAD ? v.getUint32(12) : -1;
      ssrc ??= v.getUint32(8);
      firstSeq ??= (v.getUint16(2) - n) & 0xffff;
      if (n < 0 || v.getUint16(2) !== ((firstSeq + n) & 0xffff) || v.getUint32(8) !== ssrc || seen.has(n)) bad++;
      else seen.add(n);
    },
  });
  cleanups.push(() => evaluator.close());
  sock.on("message", (msg: Buffer) => {
    // The tee first (dgram keeps `msg` until it is sent), then a copy for the evaluator, which decrypts in place.
    if (teeTo !== undefined) sock.send(msg, teeTo, "127.0.0.1");
    capture?.set(msg.readUInt16BE(2), Buffer.from(msg));
    evaluator.receive(Uint8Array.from(msg));
  });
  return {
    port: sock.address().port,
    async finish() {
      await evaluator.settled();
      const st = evaluator.stats;
      await closeUdp(sock);
      evaluator.close();
      return {
        delivered: st.delivered, distinct: seen.size, first: Math.min(...seen), last: Math.max(...seen), bad, unknownTgk,
        authFailed: st.authFailed, replayed: st.replayed, mkiTgkId: st.currentMki?.slice(0, 8), ssrc, firstSeq,
      };
    },
  };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
  dir = mkdtempSync(join(tmpdir(), "mbms-store-"));
  config = join(dir, "config.json");
  storePath = join(dir, "keys.sqlite");
  writeFileSync(config, JSON.stringify({
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: PERIOD, tgkLifetimeMs: HOUR }],
    users: [{ userId: USER, kek: KEK_HEX }],
  }), { mode: 0o600 });
});

afterAll(async () => {
  killChildren();
  for (const s of [...sockets]) await closeUdp(s);
  for (const f of cleanups) f();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("mbms-srtp send --store: the BM-SC's keys survive a restart", () => {
  it("a restart on the same SQLite file sends and serves the same TGK; without --store it would not; the file is 0600", async () => {
    const kek = Uint8Array.from(Buffer.from(KEK_HEX, "hex"));
    const source = new MeTekSource();
    cleanups.push(() => source.close());

    // ---- run 1: a new store ----
    const p1 = await freeUdpPort();
    const wire1 = new Map<number, Buffer>();
    const send1 = cli(sendArgs(await captureTee(p1, wire1), 2.5, storePath), 15_000);
    const url1 = keyServerUrl((await send1.firstLine).line);
    expect(storeModes(storePath)).toEqual({ "keys.sqlite": "600", "keys.sqlite-wal": "600", "keys.sqlite-shm": "600" });
    const recv1 = cli(receiveArgs(p1, url1, 3), 15_000); // outlasts the sender: its window starts once keyed
    // The test's UE: keyed once from run 1, then never again (stop() cancels the scheduled re-key).
    const client = new KeyClient({ baseUrl: url1, serviceId: SERVICE, userId: USER, kek, tekSource: source, maxAttempts: 3, backoffBaseMs: 50 });
    const delivery = await client.start();
    client.stop();
    const run1TgkIds = source.knownTgkIds();
    expect(run1TgkIds).toEqual(delivery.tgks.map((t) => t.tgkId));
    expect(run1TgkIds).toHaveLength(1); // 1 h lifetime: only the current TGK exists
    const [s1, r1] = await Promise.all([send1.done, recv1.done]);
    const sent1 = expectSent(s1, 2.5, "run 1");
    expectComplete(r1, sent1.sender.packets, "run 1 receive");
    expect(storeModes(storePath)).toMatchObject({ "keys.sqlite": "600" });
    const before = snapshot(storePath);
    expect(before.tgks.map((t) => t.tgkId)).toEqual(run1TgkIds);
    expect(before.userIds).toEqual([USER]);

    const st = new SqliteKeyStore(storePath);
    const run1Period = st.getTekRand2(SERVICE)!;
    st.close();

    // ---- run 2: the same store, restarted inside run 1's last TEK_RAND2 period ----
    const p2 = await freeUdpPort();
    const wire2 = new Map<number, Buffer>();
    const ue2 = await testUe(source, p2, wire2);
    const restartAt = Date.now();
    expect(restartAt).toBeLessThan(run1Period.currentStart + PERIOD);
    const send2 = cli(sendArgs(ue2.port, 3, storePath), 15_000);
    const url2 = keyServerUrl((await send2.firstLine).line);
    expect(url2).not.toBe(url1); // another process, another port: nothing but the file links the runs
    const recv2 = cli(receiveArgs(p2, url2, 3.5), 15_000);
    const [s2, r2] = await Promise.all([send2.done, recv2.done]);
    const sent2 = expectSent(s2, 3, "run 2");
    const N2 = sent2.sender.packets;
    expectComplete(r2, N2, "run 2 receive (keyed from run 2)");
    const u2 = await ue2.finish();
    // Exit 1's TGK decrypts all of run 2, from its first packet: no unknown TGK-ID, no authentication failure.
    expect({ ...u2, mkiTgkId: undefined }).toEqual({
      delivered: N2, distinct: N2, first: 0, last: N2 - 1, bad: 0, unknownTgk: 0, authFailed: 0, replayed: 0, mkiTgkId: undefined, ssrc: sent2.sender.ssrc, firstSeq: sent2.sender.firstSeq,
    });
    expect(u2.mkiTgkId).toBe(run1TgkIds[0]!.toString(16).padStart(8, "0"));
    expect(source.knownTgkIds()).toEqual(run1TgkIds);
    const after = snapshot(storePath);
    try {
      expect(after.tgks).toEqual(before.tgks);
      expect(after.csbId).toBe(before.csbId);
      expect(after.userIds).toEqual([USER]);
      expect(before.tgkBytes.every((b, i) => sameBytes(b, after.tgkBytes[i])), "TGK bytes unchanged").toBe(true);
      expect(sameBytes(before.tekRand, after.tekRand), "TEK_RAND unchanged").toBe(true);
      expect(sameBytes(before.kek, after.kek), "KEK unchanged").toBe(true);
    } finally {
      wipe(before);
      wipe(after);
    }
    expect(storeModes(storePath)).toMatchObject({ "keys.sqlite": "600" });
    // No keystream reuse across the restart: another SSRC, and no packet n of run 2 with run 1's packet n's
    // encrypted payload (the capture is by sequence number: packet n has firstSeq + n).
    expect(sent2.sender.ssrc).not.toBe(sent1.sender.ssrc);
    const byNumber = (wire: Map<number, Buffer>, first: number) => new Map([...wire].map(([seq, d]) => [(seq - first) & 0xffff, d.subarray(12, d.length - 22)]));
    const [n1, n2] = [byNumber(wire1, sent1.sender.firstSeq!), byNumber(wire2, sent2.sender.firstSeq!)];
    const compared = [...n2.keys()].filter((n) => n1.has(n));
    const same = compared.filter((n) => n1.get(n)!.equals(n2.get(n)!)).length;
    expect({ compared: compared.length > 100, identical: same }).toEqual({ compared: true, identical: 0 });

    // ---- run 3, the control: the same restart without --store ----
    const ue3 = await testUe(source);
    const send3 = cli(sendArgs(ue3.port, 1.5, undefined), 15_000);
    keyServerUrl((await send3.firstLine).line);
    const sent3 = expectSent(await send3.done, 1.5, "run 3");
    const u3 = await ue3.finish();
    // A new TGK under the same TGK-ID: the UE derives a TEK for it, and every packet fails authentication.
    expect(u3.delivered).toBe(0);
    expect(u3.unknownTgk).toBe(0);
    expect(u3.authFailed).toBeGreaterThan(0);
    expect(u3.authFailed).toBeLessThanOrEqual(sent3.sender.packets);
    kek.fill(0);
  }, 25_000);
});
