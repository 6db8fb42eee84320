// Two `mbms-srtp send` processes on one PostgreSQL store, one service (issue 11): one schedule, distinct SSRCs.
//   - A starts first and takes the schedule lease (--schedule-lease 1000); B starts once A serves keys and
//     stops well before A (5 s against 12 s), so A owns the schedule throughout B's run (a clean stop
//     releases the lease: B would take it over at its next step).
//   - Each sender goes to its own `mbms-srtp receive` (ME mode, keyed from that sender's key server)
//     through a tee in this process that records every datagram's MKI, SSRC and sequence number.
// Checked: the two SSRCs differ and are what the receivers learned; each receiver decrypts every packet of
// its sender from its first on; TEK_RAND2 rotates on schedule (both senders switch with it, exit 0); only A
// stored rotations, B none, and every MKI B sent under A sent under too (one schedule, announced by both);
// no two datagrams share (MKI, SSRC, index) — MKI = TGK-ID ‖ TEK_RAND2 names the TEK (RFC 3711 §9.1).
// And a revocation on a non-owner: a keyserver started (while another owns the schedule) with a config that
// drops a user exits 1 with ERR_NOT_OWNER naming the owner, and the user stays enabled (revocation.ts).
// Runs dist/cli/main.js (build first) on the throwaway cluster (test/helpers/postgres.ts: fails without
// PostgreSQL, never skips). Bounded: each process is killed after 30 s. Network: 127.0.0.1 only.
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, cli, freeUdpPort, killChildren, lastJson, type Exit, type ReceiveSummary, type SendSummary } from "./helpers/processes.js";
import { testPostgres, type TestPostgres } from "./helpers/postgres.js";

const SERVICE = "urn:mbms:lease:1";
const USER = "sip:ue@lease.invalid";
const KEK_HEX = randomBytes(16).toString("hex");
const PERIOD = 1000;
const PAYLOAD = 200;
const BITRATE = 400e3;
const MKI_BYTES = 12;
const TAG_BYTES = 10;

let pg: TestPostgres;
let dir = "";
let config = "";
const sockets: dgram.Socket[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
  pg = await testPostgres();
  dir = mkdtempSync(join(tmpdir(), "mbms-lease-"));
  config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: PERIOD, tgkLifetimeMs: 3_600_000 }],
    users: [{ userId: USER, kek: KEK_HEX }],
  }), { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  killChildren();
  for (const s of sockets) s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await pg?.stop();
});

interface Wire { mki: string; ssrc: number; seq: number }

/** A UDP tee on 127.0.0.1: records each datagram's MKI, SSRC and sequence number, forwards it to `to`. */
async function tee(to: number, wire: Wire[]): Promise<number> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  s.on("message", (d: Buffer) => {
    wire.push({ mki: d.subarray(d.length - TAG_BYTES - MKI_BYTES, d.length - TAG_BYTES).toString("hex"), ssrc: d.readUInt32BE(8), seq: d.readUInt16BE(2) });
    s.send(d, to, "127.0.0.1");
  });
  return s.address().port;
}

const sendArgs = (port: number, durationS: number) => ["send", "--dest", `127.0.0.1:${port}`, "--config", config, "--store", pg.url, "--service", SERVICE,
  "--schedule-lease", "1000", "--bitrate", String(BITRATE), "--packet-size", String(PAYLOAD), "--duration", String(durationS), "--json"];

const receiveArgs = (port: number, keyServer: string, durationS: number) => ["receive", "--port", String(port), "--key-server", keyServer, "--service", SERVICE,
  "--user", USER, "--kek", KEK_HEX, "--tek-period", String(PERIOD), "--packet-size", String(PAYLOAD), "--duration", String(durationS), "--json"];

const keyServer = (line: string) => {
  expect(line).toMatch(/^key server http:\/\/127\.0\.0\.1:\d+$/);
  return line.slice("key server ".length);
};

function sent(run: Exit, what: string): SendSummary {
  expect(run.stderr, what).toBe("");
  expect(run.code, what).toBe(0);
  const s = lastJson<SendSummary>(run.stdout);
  expect(s.ok, `${what}: ${s.failures.join("; ")}`).toBe(true);
  return s;
}

/** Every packet of the sender from the receiver's first on, of one stream: the sender's SSRC. */
function received(run: Exit, s: SendSummary, what: string): ReceiveSummary {
  expect(run.stderr, what).toBe("");
  const x = lastJson<ReceiveSummary>(run.stdout);
  const N = s.sender.packets;
  expect({ what, delivered: x.delivered, lastPacket: x.lastPacket, lost: x.lost, authFailed: x.authFailed, badPackets: x.badPackets, duplicates: x.duplicates, keyErrors: x.keyErrors })
    .toEqual({ what, delivered: N - x.firstPacket, lastPacket: N - 1, lost: 0, authFailed: 0, badPackets: 0, duplicates: 0, keyErrors: 0 });
  // Joined late on a loaded machine (process start, keying) is fine; a receiver that saw little is not.
  expect(x.delivered, what).toBeGreaterThan(N / 4);
  expect(x.streams.map((t) => t.ssrc), what).toEqual([s.sender.ssrc]);
  expect(x.ok && run.code === 0, what).toBe(true);
  return x;
}

/** (MKI, SSRC, index) of every datagram: the index is the sequence number extended per SSRC (RFC 3711 §3.3.1). */
function indices(wire: readonly Wire[]): string[] {
  const ext = new Map<number, number>();
  return wire.map((w) => {
    const prev = ext.get(w.ssrc);
    const i = prev === undefined ? w.seq : prev + ((((w.seq - (prev & 0xffff)) + 0x8000) & 0xffff) - 0x8000);
    ext.set(w.ssrc, Math.max(prev ?? i, i));
    return `${w.mki}/${w.ssrc}/${i}`;
  });
}

describe("two mbms-srtp send processes on one PostgreSQL store", () => {
  it("one schedule (only the lease owner rotates, both send under its TEKs), distinct SSRCs, every packet decrypted, no (TEK, SSRC, index) twice", async () => {
    const [rA, rB] = [await freeUdpPort(), await freeUdpPort()];
    const wireA: Wire[] = [];
    const wireB: Wire[] = [];
    const sendA = cli(sendArgs(await tee(rA, wireA), 12), 30_000);
    const urlA = keyServer((await sendA.firstLine).line);
    const sendB = cli(sendArgs(await tee(rB, wireB), 5), 30_000);
    const urlB = keyServer((await sendB.firstLine).line);
    expect(urlB).not.toBe(urlA);
    // The receivers outlast their senders: a receiver's window starts once it is keyed.
    const recvA = cli(receiveArgs(rA, urlA, 13), 30_000);
    const recvB = cli(receiveArgs(rB, urlB, 6), 30_000);
    const [eA, eB, xA, xB] = await Promise.all([sendA.done, sendB.done, recvA.done, recvB.done]);
    const [a, b] = [sent(eA, "send A"), sent(eB, "send B")];
    console.info(`[send-lease] A: ${a.sender.packets} packets, ${a.sender.tekSwitches} switches, ${a.schedule!.rotations} rotations; B: ${b.sender.packets} packets, ${b.sender.tekSwitches} switches, ${b.schedule!.rotations} rotations`);

    expect(a.sender.ssrc).toBeTypeOf("number");
    expect(b.sender.ssrc).toBeTypeOf("number");
    expect(a.sender.ssrc).not.toBe(b.sender.ssrc);
    received(xA, a, "receive A");
    received(xB, b, "receive B");

    // One schedule: A owned it (and stored the rotations), B followed it; both switched TEK on schedule.
    expect({ owner: a.schedule!.owner, leaseMs: a.schedule!.leaseMs }).toEqual({ owner: true, leaseMs: 1000 });
    expect({ owner: b.schedule!.owner, rotations: b.schedule!.rotations }).toEqual({ owner: false, rotations: 0 });
    expect(a.schedule!.rotations).toBeGreaterThanOrEqual(9);
    expect(a.sender.tekSwitches).toBeGreaterThanOrEqual(9);
    expect(b.sender.tekSwitches).toBeGreaterThanOrEqual(3);
    const mkisA = new Set(wireA.map((w) => w.mki));
    const mkisB = new Set(wireB.map((w) => w.mki));
    expect(mkisB.size).toBeGreaterThanOrEqual(4);
    expect([...mkisB].filter((m) => !mkisA.has(m))).toEqual([]);

    // Each tee saw only its sender's SSRC; no (TEK, SSRC, index) twice across both.
    expect(new Set(wireA.map((w) => w.ssrc))).toEqual(new Set([a.sender.ssrc]));
    expect(new Set(wireB.map((w) => w.ssrc))).toEqual(new Set([b.sender.ssrc]));
    expect(wireA.length).toBe(a.sender.packets);
    expect(wireB.length).toBe(b.sender.packets);
    const all = [...indices(wireA), ...indices(wireB)];
    expect(all.length - new Set(all).size).toBe(0);
  }, 60_000);

  it("a config that drops a user, on a non-owner: exit 1, ERR_NOT_OWNER naming the owner, the user left enabled", async () => {
    const url = await pg.database();
    const two = join(dir, "two.json");
    const one = join(dir, "one.json");
    const user2 = "sip:ue2@lease.invalid";
    const services = [{ serviceId: SERVICE, tekRand2PeriodMs: PERIOD, tgkLifetimeMs: 3_600_000 }];
    writeFileSync(two, JSON.stringify({ services, users: [{ userId: USER, kek: KEK_HEX }, { userId: user2, kek: KEK_HEX }] }), { mode: 0o600 });
    writeFileSync(one, JSON.stringify({ services, users: [{ userId: USER, kek: KEK_HEX }] }), { mode: 0o600 });
    const owner = cli(["keyserver", "--config", two, "--store", url, "--json"], 30_000);
    keyServer((await owner.firstLine).line);
    const refused = await cli(["keyserver", "--config", one, "--store", url, "--duration", "5"], 30_000).done;
    owner.child.kill("SIGTERM");
    const o = lastJson<SendSummary>((await owner.done).stdout);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_NOT_OWNER.*owned by instance "bmsc-[0-9a-f]{16}": revoke there; nothing was changed/);
    expect(refused.stderr).toContain(`"${o.schedule!.instance}"`);
    const c = new postgres.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query("SELECT user_id, disabled FROM users ORDER BY user_id")).rows).toEqual([{ user_id: user2, disabled: false }, { user_id: USER, disabled: false }]);
    } finally {
      await c.end();
    }
  }, 60_000);
});
