// Strangers on the channel (issue: key lifecycle against hostile input). The MKI is not authenticated
// (RFC 3711 §3.1), so forged MKIs must not make the UE ask the BM-SC for keys (every UE on the channel would
// ask at once), must not hold unbounded memory, and a card that fails once must not blacklist the real key.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildMki } from "../src/index.js";
import { MeTekSource, type TekResult, type TekSource } from "../src/mbms/ue/index.js";
import { core, DelayedSource, forged, harness, NOW, Sender, service, turn } from "./helpers/mki-harness.js";

const INTERVAL = 20; // 50 packets/s
const ROTATION = 2000;

describe("MkiEvaluator against forged MKIs", () => {
  it("60 s of forged MKIs at 10× the stream rate (next TGK-IDs, unknown, known): no key request, every real packet, bounded queue", () => {
    const svc = service([0x500, 0x501]);
    const h = harness({ rotationPeriodMs: ROTATION, maxQueuedBytes: 256 << 10 });
    h.me.accept(svc.delivery);
    const tx = new Sender(svc.input);
    const total = 60_000 / INTERVAL;
    let peakBytes = 0, peakQueued = 0;
    const big = Buffer.alloc(64 << 10); // a datagram buffer much larger than the packets cut from it
    for (let i = 0; i < total; i++) {
      if (i > 0 && i % (ROTATION / INTERVAL) === 0) tx.rotate(i % 3000 === 0 ? 1 : undefined);
      h.ev.receive(tx.packet().bytes);
      for (let k = 0; k < 10; k++) {
        h.clock.t += INTERVAL / 11;
        const tgkId = [0x502, 0x503, 0x501, 0x500, randomBytes(4).readUInt32BE(0)][k % 5]!;
        const f = forged(buildMki(tgkId, new Uint8Array(randomBytes(8))));
        if (k === 9) {
          // A 60 KiB forged packet, handed over as a view into a larger buffer.
          const view = big.subarray(100, 100 + 60_000);
          view.set(f.subarray(0, 12));
          view.set(f.subarray(f.length - 22), 60_000 - 22);
          h.ev.receive(view, view.length);
        } else {
          h.ev.receive(f);
        }
        peakBytes = Math.max(peakBytes, h.ev.queuedPacketBytes);
        peakQueued = Math.max(peakQueued, h.ev.queuedPackets);
      }
      h.clock.t = (i + 1) * INTERVAL;
    }
    const s = h.ev.stats;
    console.log("hostile channel (ME):", JSON.stringify({ realPackets: total, delivered: new Set(h.got).size, peakQueuedBytes: peakBytes, peakQueued, unknownTgkCalls: h.unknown.length, stats: s }));
    expect(h.unknown).toEqual([]); // zero unscheduled key requests
    expect(s.unknownTgkNotified).toBe(0);
    expect(new Set(h.got).size).toBe(total);
    expect(peakBytes).toBeLessThanOrEqual(256 << 10);
    expect(peakQueued).toBeLessThanOrEqual(256);
    expect(h.ev.installedKeys).toBeLessThanOrEqual(6);
  });

  it("a stream that really moved to a TGK the UE lacks: one key request after the silence, then backoff per TGK-ID", () => {
    const svc = service([0x700, 0x701]);
    const h = harness({ unknownTgkIntervalMs: 1000, unknownTgkSilenceMs: 200 });
    h.me.accept({ ...svc.delivery, tgks: svc.delivery.tgks.slice(0, 1) });
    const tx = new Sender(svc.input);
    for (let i = 0; i < 5; i++) {
      h.clock.t += INTERVAL;
      h.ev.receive(tx.packet().bytes);
    }
    tx.rotate(1);
    const callsAt: number[] = [];
    for (let i = 0; i < 400; i++) {
      h.clock.t += INTERVAL;
      const n = h.unknown.length;
      h.ev.receive(tx.packet().bytes);
      if (h.unknown.length > n) callsAt.push(h.clock.t);
    }
    // Silence from t=100: first call once 200 ms passed, then after 1 s, 2 s, 4 s (8 s of stream).
    expect(h.unknown.every((id) => id === 0x701)).toBe(true);
    expect(callsAt[0]).toBeGreaterThanOrEqual(300);
    expect(callsAt[0]).toBeLessThanOrEqual(340);
    const gaps = callsAt.slice(1).map((t, i) => t - callsAt[i]!);
    expect(gaps).toEqual([1000, 2000, 4000].map((g) => expect.closeTo(g, -2)));
    h.me.accept(svc.delivery); // the re-key brings TGK 0x701: the held packets decrypt
    h.clock.t += INTERVAL;
    h.ev.receive(tx.packet().bytes);
    expect(h.ev.stats.switches).toBe(1);
    expect(new Set(h.got).size).toBeGreaterThan(5 + 64 - 1); // what the per-MKI queue held, and the new one
  });

  it("every TGK held has expired: the plausible next TGK-ID asks at once, without waiting for silence", () => {
    const svc = service([0x900, 0x901]);
    const clock = { t: 0 };
    const h = harness({ unknownTgkSilenceMs: 60_000 }, undefined, clock);
    h.me.accept({ ...svc.delivery, tgks: svc.delivery.tgks.slice(0, 1) });
    const tx = new Sender(svc.input);
    h.ev.receive(tx.packet().bytes);
    tx.rotate(1);
    h.ev.receive(tx.packet().bytes);
    h.ev.receive(tx.packet().bytes);
    expect(h.unknown).toEqual([]); // TGK 0x900 still valid, and no silence
    clock.t = HOUR_AFTER_EXPIRY(svc);
    h.ev.receive(tx.packet().bytes); // the stale candidate was dropped: seen once more…
    h.ev.receive(tx.packet().bytes); // …and twice since the last authentic packet
    expect(h.unknown).toEqual([0x901]);
  });
});

/** Fake-clock time at which the first TGK of `svc` has expired (the harness's wall clock is NOW + t). */
function HOUR_AFTER_EXPIRY(svc: ReturnType<typeof service>): number {
  return svc.input.tgks[0]!.expiresAt - NOW + 1;
}

/** A TekSource that fails its first `failures` derivations (a card timing out), then answers. */
class FlakySource implements TekSource {
  calls = 0;
  constructor(private readonly inner: TekSource, private failures: number) {}
  deriveTek(mki: Uint8Array): Promise<TekResult | undefined> {
    this.calls++;
    if (this.failures-- > 0) return Promise.reject(Object.assign(new Error("no answer from the card"), { code: "ERR_TIMEOUT" }));
    return this.inner.deriveTek(mki);
  }
  knownTgkIds() { return this.inner.knownTgkIds(); }
  tgkExpiries() { return this.inner.tgkExpiries(); }
}

describe("MkiEvaluator with a source that fails", () => {
  it("one card timeout at a switch: the derivation is retried, the real MKI is not blacklisted, nothing is lost", async () => {
    const svc = service();
    const clock = { t: 0 };
    const me = new MeTekSource({ core, clock: { now: () => NOW + clock.t } });
    me.accept(svc.delivery);
    const card = new DelayedSource(me, clock, 0.4);
    const flaky = new FlakySource(card, 1);
    const h = harness({ rotationPeriodMs: ROTATION }, flaky, clock);
    const tx = new Sender(svc.input);
    const total = 30_000 / INTERVAL; // 30 s, TEK_RAND2 every 2 s
    for (let i = 0; i < total; i++) {
      if (i > 0 && i % (ROTATION / INTERVAL) === 0) tx.rotate();
      h.ev.receive(tx.packet().bytes);
      for (let k = 0; k < 4; k++) {
        clock.t += INTERVAL / 4;
        h.ev.tick();
        card.release();
        await turn(); // the event loop turns between datagrams: a rejected derivation is seen at once
      }
    }
    clock.t += 3000;
    h.ev.tick();
    while (card.release()) await turn();
    await h.ev.settled();
    const s = h.ev.stats;
    expect(s.derivationErrors).toBe(1);
    expect(s.untrustedDropped).toBe(0);
    expect(s.forgedKeys).toBe(0);
    const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !h.got.includes(i));
    expect({ missing, stats: s }).toEqual({ missing: [], stats: s });
    expect(s.switches).toBe(total / (ROTATION / INTERVAL) - 1);
  });

  it("a source that keeps failing: the MKI's packets are dropped after the retries, its MKI is not negative-cached", async () => {
    const svc = service();
    const clock = { t: 0 };
    const me = new MeTekSource({ core, clock: { now: () => NOW + clock.t } });
    me.accept(svc.delivery);
    const flaky = new FlakySource(me, 1000);
    const h = harness({ derivationRetries: 3 }, flaky, clock);
    const tx = new Sender(svc.input);
    for (let i = 0; i < 200; i++) {
      clock.t += INTERVAL;
      h.ev.receive(tx.packet().bytes);
      await turn();
    }
    const s = h.ev.stats;
    expect(s.delivered).toBe(0);
    expect(s.untrustedDropped).toBe(0); // never refused as forged: it becomes a candidate again
    expect(flaky.calls).toBeGreaterThan(4);
    expect(h.ev.queuedPackets).toBeLessThanOrEqual(64);
  });
});
