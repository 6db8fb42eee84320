// Several BM-SC processes on one PostgreSQL (issue 11): one schedule owner per service by a store lease,
// every instance announcing what the store holds, a registered random SSRC per sender. The processes are
// test/helpers/bmsc-lease-child.mjs (dist/: `npm run build:ts` first); the receiver is this process, on
// 127.0.0.1, decrypting every packet with the TEKs the children report (the test's oracle).
import { fork, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrtpContext } from "../src/srtp/index.js";
import { testPostgres, type TestPostgres } from "./helpers/postgres.js";
import { unhex } from "./helpers/backends.js";

const CHILD = fileURLToPath(new URL("./helpers/bmsc-lease-child.mjs", import.meta.url));
const LEASE_TTL_MS = 1000;
const PERIOD_MS = 250;
const MKI_BYTES = 12;
const TAG_BYTES = 10;

type Msg = { type: string; [k: string]: unknown };
interface Instance { proc: ChildProcess; msgs: Msg[]; wait(type: string, pred?: (m: Msg) => boolean): Promise<Msg>; killedAt?: number }

let pgt: TestPostgres;
const all: Instance[] = [];
beforeAll(async () => {
  pgt = await testPostgres();
}, 120_000);
afterAll(async () => {
  for (const i of all) i.proc.kill("SIGKILL");
  await pgt?.stop();
});

function spawn(config: Record<string, unknown>): Instance {
  const proc = fork(CHILD, [JSON.stringify(config)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const msgs: Msg[] = [];
  const waiters: [string, (m: Msg) => boolean, (m: Msg) => void][] = [];
  proc.on("message", (m: Msg) => {
    msgs.push(m);
    for (const w of waiters.splice(0)) (w[0] === m.type && w[1](m) ? w[2](m) : waiters.push(w));
  });
  const inst: Instance = {
    proc, msgs,
    wait: (type, pred = () => true) => {
      const seen = msgs.find((m) => m.type === type && pred(m));
      return seen ? Promise.resolve(seen) : new Promise((r) => waiters.push([type, pred, r]));
    },
  };
  all.push(inst);
  return inst;
}

const base = (schema: string) => ({ url: pgt.url, schema, leaseTtlMs: LEASE_TTL_MS, periodMs: PERIOD_MS, tgkLifetimeMs: 600_000, nextTgkLeadMs: 60_000 });
const owns = (i: Instance) => (i.msgs.filter((m) => m.type === "owns").at(-1)?.owns as boolean | undefined) === true;
const teks = (i: Instance) => i.msgs.filter((m) => m.type === "tek") as (Msg & { mki: string; key: string; salt: string; startsAt: number })[];

async function chaos(n: number) {
  const schema = pgt.schema();
  const sock = dgram.createSocket("udp4");
  const packets: Buffer[] = [];
  sock.on("message", (b) => packets.push(b));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const insts = Array.from({ length: n }, () => spawn({ ...base(schema), mode: "send", intervalMs: 10, port: sock.address().port }));
  const errors = () => insts.flatMap((i) => i.msgs.filter((m) => m.type === "error"));
  await Promise.all(insts.map((i) => Promise.race([i.wait("ready"), i.wait("error")])));
  expect(errors()).toEqual([]);
  await sleep(6 * PERIOD_MS);
  const owners = insts.filter(owns);
  expect(owners.length).toBe(1);
  const victim = owners[0]!;
  victim.proc.kill("SIGKILL");
  victim.killedAt = Date.now();
  const survivors = insts.filter((i) => i !== victim);
  const takeover = await Promise.race(survivors.map((i) => i.wait("owns", (m) => m.owns === true && (m.at as number) > victim.killedAt!)));
  const takeoverMs = (takeover.at as number) - victim.killedAt;
  await sleep(16 * PERIOD_MS);
  for (const i of survivors) i.proc.kill("SIGKILL");
  await sleep(100);
  sock.close();

  // Every TEK any instance announced, by MKI; one TEK_RAND2 per period start.
  const byMki = new Map<string, { key: string; salt: string; startsAt: number }>();
  for (const i of insts) for (const t of teks(i)) byMki.set(t.mki, t);
  const starts = new Map<number, Set<string>>();
  for (const [mki, t] of byMki) starts.set(t.startsAt, (starts.get(t.startsAt) ?? new Set()).add(mki));
  expect([...starts.values()].filter((s) => s.size > 1)).toEqual([]);
  const ctx = new SrtpContext({ profile: "AES_CM_128_HMAC_SHA1_80", keys: [...byMki].map(([mki, t]) => ({ key: unhex(t.key), salt: unhex(t.salt), mki: unhex(mki) })) });

  // Decrypt every packet; per SSRC the counts in the payloads run without a gap; no (TEK, SSRC, index) twice.
  const seen = new Set<string>();
  const streams = new Map<number, { first: number; last: number; count: number; mkis: Set<string> }>();
  let failed = 0;
  for (const p of packets) {
    const ssrc = p.readUInt32BE(8);
    const mki = p.subarray(p.length - TAG_BYTES - MKI_BYTES, p.length - TAG_BYTES).toString("hex");
    const buf = new Uint8Array(p);
    try {
      ctx.unprotect(buf, buf.length);
    } catch {
      failed++;
      continue;
    }
    const count = new DataView(buf.buffer).getUint32(12);
    seen.add(`${mki}/${ssrc}/${count}`);
    const s = streams.get(ssrc) ?? { first: count, last: count, count: 0, mkis: new Set<string>() };
    s.first = Math.min(s.first, count);
    s.last = Math.max(s.last, count);
    s.count++;
    s.mkis.add(mki);
    streams.set(ssrc, s);
  }
  ctx.close();
  const ssrcs = insts.map((i) => i.msgs.find((m) => m.type === "ready")!.ssrc as number);
  const withheld = survivors.map((i) => i.msgs.filter((m) => m.type === "stats").at(-1)?.withheld);
  return { packets: packets.length, failed, seen: seen.size, streams, ssrcs, takeoverMs, rotations: starts.size, withheld, survivors, victim };
}

describe("BM-SC instances on one PostgreSQL, the schedule's owner killed mid-stream", () => {
  for (const n of [2, 4]) {
    it(`${n} processes: another takes over within the lease time, 0 packets lost, no (TEK, SSRC, index) twice`, async () => {
      const r = await chaos(n);
      console.info(`[multi-instance] ${n} instances: takeover ${r.takeoverMs} ms, ${r.rotations} TEKs, ${r.packets} packets, ${r.streams.size} streams`);
      expect(r.takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + LEASE_TTL_MS / 3 + 100);
      expect(r.rotations).toBeGreaterThanOrEqual(20);
      expect(r.failed).toBe(0);
      expect(r.seen).toBe(r.packets);
      expect(new Set(r.ssrcs).size).toBe(n);
      expect([...r.streams.keys()].sort()).toEqual([...r.ssrcs].sort());
      for (const s of r.streams.values()) expect(s.count).toBe(s.last - s.first + 1);
      expect(r.withheld).toEqual(r.survivors.map(() => 0));
      // every surviving sender — owner or not — switched TEK with the schedule
      for (const i of r.survivors) {
        const s = r.streams.get(i.msgs.find((m) => m.type === "ready")!.ssrc as number)!;
        expect(s.mkis.size).toBeGreaterThanOrEqual(18);
      }
    }, 60_000);
  }
});

describe("BM-SC instances starting at once on an empty database", () => {
  it("8 processes: 0 failures, one TGK in force, one TEK announced by all", async () => {
    const schema = pgt.schema();
    const insts = Array.from({ length: 8 }, () => spawn({ ...base(schema), periodMs: 60_000, mode: "startup" }));
    await Promise.all(insts.map((i) => Promise.race([i.wait("tgks"), i.wait("error")])));
    await Promise.all(insts.map((i) => Promise.race([i.wait("tek"), i.wait("error"), sleep(3000)])));
    for (const i of insts) i.proc.kill("SIGKILL");
    expect(insts.flatMap((i) => i.msgs.filter((m) => m.type === "error"))).toEqual([]);
    expect((await pgt.admin(`SELECT count(*)::int AS n FROM ${schema}.tgks`)).rows).toEqual([{ n: 1 }]);
    expect((await pgt.admin(`SELECT count(*)::int AS n FROM ${schema}.services`)).rows).toEqual([{ n: 1 }]);
    const first = insts.map((i) => teks(i)[0]?.mki);
    expect(new Set(first).size).toBe(1);
    expect(first[0]).toBeDefined();
  }, 60_000);
});
