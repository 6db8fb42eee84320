// The UE's MKI evaluator (docs/architecture.md §1 "UE", §4; docs/key-derivation.md §4): a BM-SC-like sender rotating
// TEK_RAND2 → every packet decrypted, no loss at a switch, late packets under the previous MKI during the
// grace period; and a forged-MKI flood at 10× the stream rate that never stops the real stream.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildMki, SrtpStatus } from "../src/index.js";
import { EvaluatorStatus, MeTekSource, MkiEvaluator } from "../src/mbms/ue/index.js";
import { prng } from "./helpers/prng.js";
import { core, DelayedSource, forged, harness, NOW, Sender, service, turn } from "./helpers/mki-harness.js";

describe("MkiEvaluator: a rotating stream", () => {
  for (const derivation of ["alt1", "alt2"] as const) {
    it(`decrypts every packet across TEK_RAND2 switches, late packets of the previous MKI included (${derivation})`, () => {
      const { input, delivery } = service(undefined, derivation);
      const me = new MeTekSource({ core, derivation, clock: { now: () => NOW } });
      me.accept(delivery);
      const h = harness({ rotationPeriodMs: 2000 }, me);
      const tx = new Sender(input, derivation);
      const held: { seq: number; bytes: Uint8Array }[] = [];
      const results: number[] = [];
      for (let i = 0; i < 1000; i++) {
        h.clock.t += 20;
        if (i > 0 && i % 100 === 0) tx.rotate();
        const p = tx.packet();
        // The last two packets before each switch arrive late, after 5 packets under the new MKI.
        if (i % 100 >= 98) {
          held.push(p);
          continue;
        }
        results.push(h.ev.receive(p.bytes, p.bytes.length));
        if (i % 100 === 5 && i > 100) for (const late of held.splice(0)) results.push(h.ev.receive(late.bytes, late.bytes.length));
      }
      for (const late of held.splice(0)) results.push(h.ev.receive(late.bytes, late.bytes.length));
      // Every packet decrypted synchronously (the ME source answers inside receive): no queueing, no loss.
      expect(results.every((r) => r > 0)).toBe(true);
      expect(new Set(h.got).size).toBe(1000);
      const st = h.ev.stats;
      expect(st).toMatchObject({ delivered: 1000, authFailed: 0, replayed: 0, switches: 9, derivations: 10, queuedDropped: 0 });
      expect(st.currentMki).toBe(Buffer.from(tx.mki).toString("hex"));
      expect(h.ev.installedKeys).toBeLessThanOrEqual(2);
      h.ev.close();
    });
  }

  it("removes the previous key after the grace period; a straggler is then dropped without a derivation", () => {
    const { input, delivery } = service();
    const h = harness({ graceMs: 300 });
    h.me.accept(delivery);
    const tx = new Sender(input);
    for (let i = 0; i < 10; i++) {
      h.clock.t += 20;
      h.ev.receive(tx.packet().bytes);
    }
    const straggler = tx.packet(); // under the first MKI, never delivered in time
    tx.rotate();
    for (let i = 0; i < 30; i++) {
      h.clock.t += 20;
      expect(h.ev.receive(tx.packet().bytes)).toBeGreaterThan(0);
    }
    expect(h.ev.installedKeys).toBe(1);
    const before = h.ev.stats.derivations;
    expect(h.ev.receive(straggler.bytes)).toBe(-EvaluatorStatus.RetiredMki);
    expect(h.ev.stats.derivations).toBe(before);
  });

  it("a replayed old packet under the previous MKI is still refused (replay state belongs to the SSRC)", () => {
    const { input, delivery } = service();
    const h = harness();
    h.me.accept(delivery);
    const tx = new Sender(input);
    const first = tx.packet();
    const copy = first.bytes.slice();
    expect(h.ev.receive(first.bytes)).toBeGreaterThan(0);
    tx.rotate();
    for (let i = 0; i < 3; i++) expect(h.ev.receive(tx.packet().bytes)).toBeGreaterThan(0);
    expect(h.ev.receive(copy)).toBe(-SrtpStatus.Replayed);
    expect(h.ev.stats.replayed).toBe(1);
  });

  it("an unknown TGK-ID queues the packets, calls onUnknownTgk (rate-limited), and decrypts them once the TGK arrives", () => {
    const svc = service([0x101, 0x102]);
    const h = harness({ unknownTgkIntervalMs: 1000 });
    // The UE holds only the first TGK.
    h.me.accept({ ...svc.delivery, tgks: svc.delivery.tgks.slice(0, 1) });
    const tx = new Sender(svc.input);
    for (let i = 0; i < 5; i++) {
      h.clock.t += 20;
      expect(h.ev.receive(tx.packet().bytes)).toBeGreaterThan(0);
    }
    tx.rotate(1); // the BM-SC moves to TGK 0x102
    const queued: number[] = [];
    for (let i = 0; i < 60; i++) {
      h.clock.t += 20;
      queued.push(h.ev.receive(tx.packet().bytes));
    }
    expect(queued.every((r) => r === -EvaluatorStatus.Queued)).toBe(true);
    expect(h.unknown).toEqual([0x102, 0x102]); // 1.2 s of packets, one call per second
    expect(h.ev.stats.derivations).toBe(1);
    h.me.accept(svc.delivery); // the re-key brings TGK 0x102
    expect(new Set(h.got).size).toBe(65);
    h.clock.t += 20;
    expect(h.ev.receive(tx.packet().bytes)).toBeGreaterThan(0);
    expect(h.ev.stats).toMatchObject({ delivered: 66, switches: 1, queuedDropped: 0 });
  });
});

interface FloodReport {
  realPackets: number;
  delivered: number;
  forgedPackets: number;
  derivations: number;
  derivationsPerSecond: number;
  maxSwitchDelayMs: number;
  maxInstalledKeys: number;
  stats: unknown;
}

/**
 * 50 packets/s, TEK_RAND2 every 2 s, for `seconds`; between two real packets `ratio` forged ones: a third
 * with the real TGK-ID prefix, a third with random TGK-IDs, a third under the current real MKI.
 */
async function flood(h: ReturnType<typeof harness>, input: ReturnType<typeof service>["input"], seconds: number, ratio: number, settle?: () => Promise<void>): Promise<FloodReport> {
  const tx = new Sender(input);
  const tgkId = input.tgks[0]!.tgkId;
  const interval = 20, rotationMs = 2000, perRotation = rotationMs / interval;
  const sentAt = new Map<number, number>();
  const firstOfRotation: number[] = [];
  let forgedCount = 0, maxKeys = 0;
  const total = (seconds * 1000) / interval;
  const derivationsBefore = h.ev.stats.derivations;
  const t0 = h.clock.t;
  for (let i = 0; i < total; i++) {
    if (i > 0 && i % perRotation === 0) tx.rotate();
    const p = tx.packet();
    if (i % perRotation === 0) firstOfRotation.push(p.seq);
    sentAt.set(p.seq, h.clock.t);
    const r = h.ev.receive(p.bytes);
    // The current key is never dropped: once the stream has switched, its packets decrypt at once.
    if (i % perRotation > 10) expect(r).toBeGreaterThan(0);
    for (let k = 0; k < ratio; k++) {
      h.clock.t += interval / (ratio + 1);
      const kind = k % 3;
      const mki = kind === 0 ? buildMki(tgkId, new Uint8Array(randomBytes(8)))
        : kind === 1 ? new Uint8Array(randomBytes(12))
        : tx.mki;
      h.ev.receive(forged(mki));
      forgedCount++;
      maxKeys = Math.max(maxKeys, h.ev.installedKeys);
      if (settle) await settle();
    }
    h.clock.t = t0 + (i + 1) * interval;
    if (settle) await settle();
  }
  h.clock.t += 100;
  h.ev.tick();
  if (settle) await settle();
  const delays = firstOfRotation.map((seq) => (h.deliveredAt.get(seq) ?? Infinity) - sentAt.get(seq)!);
  const derivations = h.ev.stats.derivations - derivationsBefore;
  return {
    realPackets: total, delivered: new Set(h.got).size, forgedPackets: forgedCount, derivations,
    derivationsPerSecond: derivations / seconds, maxSwitchDelayMs: Math.max(...delays), maxInstalledKeys: maxKeys, stats: h.ev.stats,
  };
}

describe("MkiEvaluator under a forged-MKI flood (10× the stream's packet rate)", () => {
  it("ME-based: the real stream never stops, switches are not delayed beyond a rotation period, keys stay bounded", async () => {
    const { input, delivery } = service();
    const h = harness({ rotationPeriodMs: 2000 });
    h.me.accept(delivery);
    const report = await flood(h, input, 20, 10);
    console.log("flood ME-based:", JSON.stringify(report));
    expect(report.delivered).toBe(report.realPackets);
    expect(report.maxSwitchDelayMs).toBeLessThan(2000);
    expect(report.maxInstalledKeys).toBeLessThanOrEqual(6);
    // Token bucket 50/s, burst 10, over the run (20 s + 100 ms).
    expect(report.derivations).toBeLessThanOrEqual(50 * 20.1 + 10);
    expect(h.unknown).toEqual([]); // random TGK-IDs seen once each never trigger a re-key
  });

  it("UICC-like async source (answers after 0.4 ms): same guarantees", async () => {
    const { input, delivery } = service();
    const clock = { t: 0 };
    const me = new MeTekSource({ core, clock: { now: () => NOW } });
    me.accept(delivery);
    const card = new DelayedSource(me, clock, 0.4);
    const h = harness({ rotationPeriodMs: 2000, derivationRate: 20, derivationBurst: 5, maxInFlight: 1 }, card, clock);
    const report = await flood(h, input, 10, 10, async () => {
      if (card.release()) {
        await turn();
      }
    });
    console.log("flood UICC-like:", JSON.stringify(report));
    expect(report.delivered).toBe(report.realPackets);
    expect(report.maxSwitchDelayMs).toBeLessThan(2000);
    expect(report.maxInstalledKeys).toBeLessThanOrEqual(6);
    expect(card.calls).toBeLessThanOrEqual(20 * 10.1 + 5);
  });
});

describe("MkiEvaluator.receiveBatch", () => {
  /** Feeds `packets` to `ev` in batches of 1..40 packets (gaps of 0..2 bytes between them, from `rand`). */
  function inBatches(ev: MkiEvaluator, packets: Uint8Array[], rand: (n: number) => number): number[] {
    const results: number[] = [];
    for (let at = 0; at < packets.length;) {
      const chunk = packets.slice(at, at + 1 + rand(40));
      const offsets = new Int32Array(chunk.length);
      const lengths = new Int32Array(chunk.length);
      let used = 0;
      chunk.forEach((p, i) => {
        offsets[i] = used + rand(3);
        lengths[i] = p.length;
        used = offsets[i]! + p.length;
      });
      const buffer = new Uint8Array(used);
      chunk.forEach((p, i) => buffer.set(p, offsets[i]!));
      ev.receiveBatch({ buffer, offsets, lengths });
      results.push(...lengths);
      at += chunk.length;
    }
    return results;
  }

  it("gives, packet for packet, what receive() gives: switches, late packets, forged tags, foreign MKIs, replays", () => {
    const { input, delivery } = service();
    const one = harness();
    const many = harness();
    one.me.accept(delivery);
    many.me.accept(delivery);
    const tx = new Sender(input);
    const expected: number[] = [];
    const results: number[] = [];
    const rand = prng(0x8a7c4);
    let previous: Uint8Array[] = [];
    for (let period = 0; period < 6; period++) {
      const cur: Uint8Array[] = [];
      for (let i = 0; i < 90; i++) cur.push(tx.packet().bytes.slice());
      // Late packets of the previous period among the first of this one, a duplicate, a forged tag under the
      // current MKI (on the next packet's index: a forged copy of an earlier packet is refused either way, as
      // a replay one by one but as an authentication failure when both are in one batch), a foreign MKI.
      for (const [k, p] of previous.slice(-3).entries()) cur.splice(2 + 2 * k, 0, p);
      cur.splice(40, 0, cur[30]!.slice());
      const bad = cur[51]!.slice();
      bad[bad.length - 1]! ^= 1;
      cur.splice(51, 0, bad);
      cur.splice(60, 0, forged(buildMki(input.tgks[0]!.tgkId, new Uint8Array(randomBytes(8)))));
      expected.push(...cur.map((p) => one.ev.receive(p.slice(), p.length)));
      results.push(...inBatches(many.ev, cur.map((p) => p.slice()), rand));
      previous = cur.slice(-10);
      tx.rotate();
      one.clock.t += 500; // derivation tokens refill; the previous key stays within its grace period
      many.clock.t += 500;
    }
    const diff = results.map((r, i) => [i, r, expected[i]]).filter(([, r, e]) => r !== e);
    expect(diff).toEqual([]);
    expect(many.got).toEqual(one.got);
    expect(many.ev.stats).toEqual(one.ev.stats);
    // The stream exercised every path: switches, replays, forged tags, a foreign MKI dropped as forged.
    const s = one.ev.stats;
    expect({ delivered: s.delivered, switches: s.switches, queuedDropped: s.queuedDropped }).toEqual({ delivered: 6 * 90, switches: 5, queuedDropped: 0 });
    expect(s.replayed).toBeGreaterThanOrEqual(6);
    expect(s.authFailed).toBeGreaterThanOrEqual(6);
    expect(s.forgedKeys + s.untrustedDropped).toBeGreaterThanOrEqual(1);
  });

  it("an onPacket that closes the evaluator mid-batch: the rest of the batch is refused as Closed", () => {
    const { input, delivery } = service();
    let seen = 0;
    const h = harness({ onPacket: () => void (++seen === 3 && h.ev.close()) });
    h.me.accept(delivery);
    const tx = new Sender(input);
    h.ev.receive(tx.packet().bytes.slice()); // the key becomes current: the rest is one run
    seen = 0;
    const packets = Array.from({ length: 8 }, () => tx.packet().bytes.slice());
    expect(inBatches(h.ev, packets, () => 0).map((r) => (r >= 0 ? "ok" : r))).toEqual(["ok", "ok", "ok", ...Array(5).fill(-EvaluatorStatus.Closed)]);
    expect(seen).toBe(3);
  });

  it("refuses a count beyond its offsets or lengths", () => {
    const { ev } = harness();
    expect(() => ev.receiveBatch({ buffer: new Uint8Array(10), offsets: new Int32Array(1), lengths: new Int32Array(1), count: 2 })).toThrow(/batch count/);
  });
});

describe("MeTekSource", () => {
  it("serves one service: another service's key message is refused (its TGK-IDs would replace this one's)", () => {
    const a = service([1, 2]);
    const b = service([1, 2]);
    const me = new MeTekSource({ core, clock: { now: () => NOW } });
    me.accept(a.delivery);
    expect(() => me.accept({ ...b.delivery, serviceId: "urn:mbms:tv:2" })).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    expect(() => me.accept({ ...b.delivery, csbId: 0x1234 })).toThrow(expect.objectContaining({ code: "ERR_ARGUMENT" }));
    const mki = buildMki(1, new Uint8Array(8).fill(3));
    const want = new MeTekSource({ core, clock: { now: () => NOW } });
    want.accept(a.delivery);
    expect(me.deriveTekSync(mki)).toEqual(want.deriveTekSync(mki)); // still service A's TEK
    me.close();
    want.close();
  });
});
