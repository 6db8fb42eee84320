// A receiver keyed after the sender's sequence number wrapped (RFC 3711 §3.3.1: the ROC is not in the
// packets, key management must give it). The real roles in one process, the clock standing (no rotation
// meanwhile): SessionManager + key server on 127.0.0.1 + MbmsSender, which protects 2·65,536 + 1,000 packets
// before any UE asks for keys; then an ME UE and a UICC UE (a SoftCard behind a UiccProxy) key themselves
// and must decrypt every later packet from the first — which needs the key message's SRTP-ID map to carry
// the sender's SSRC and ROC 2. A second sender in the same process under another SSRC is named too.
import { afterEach, describe, expect, it } from "vitest";
import type { MbmsSender } from "../src/mbms/bmsc/mbms-sender.js";
import type { KeyDelivery } from "../src/mbms/ue/key-client.js";
import { UeReceiver } from "../src/mbms/ue/ue-receiver.js";
import { SrtpContext } from "../src/srtp/context.js";
import { SrtpStatus } from "../src/srtp/index.js";
import { SrtpIndexAuthority } from "../src/srtp/index-authority.js";
import { SoftCard } from "../src/mbms/uicc/soft-card.js";
import { startInProcessBmsc, type InProcessBmsc } from "./helpers/in-process-bmsc.js";
import { inProcessCard } from "./helpers/in-process-card.js";
import { rtpPacket } from "./helpers/rtp.js";

const SERVICE = "urn:mbms:late-join:1";
const SSRC = 0x1a7e501;
const OTHER_SSRC = 0x2b8f602;
const WRAPPED = 2 * 65536 + 1000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The BM-SC roles with `senders` senders on SERVICE; the clock stands, so nothing rotates. */
async function bmsc(senders: number): Promise<InProcessBmsc> {
  const b = await startInProcessBmsc({
    senders, services: [{ serviceId: SERVICE, tgkLifetimeMs: 3_600_000, tekRand2PeriodMs: 600_000, nextTgkLeadMs: 600_000 }],
  });
  cleanups.push(b.cleanup);
  return b;
}

/** Protects packet `n` of `ssrc` (seq n mod 2^16) with `sender`; the SRTP bytes. */
function protectNext(sender: MbmsSender, ssrc: number, n: number, template: Buffer): Uint8Array {
  template.writeUInt16BE(n & 0xffff, 2);
  template.writeUInt32BE(ssrc, 8);
  const buf = new Uint8Array(template.length + sender.trailerLength);
  buf.set(template);
  const len = sender.protect(buf, template.length);
  expect(len).toBeGreaterThan(0);
  return buf.subarray(0, len);
}

describe("a receiver keyed after the sender's sequence number wrapped", () => {
  it("gets the sender's ROC in the key message and decrypts every packet from its first, ME and UICC", async () => {
    const { clock, mgr, port, sender, senders } = await bmsc(2);
    const other = senders[1]!;
    const template = rtpPacket({ seq: 0, ssrc: SSRC, payload: 64 });
    for (let n = 0; n < WRAPPED; n++) protectNext(sender, SSRC, n, template);
    for (let n = 0; n < 70_000; n++) protectNext(other, OTHER_SSRC, n, template); // ROC 1

    const ues = await Promise.all((["ME", "UICC"] as const).map(async (mode) => {
      const userId = `sip:${mode.toLowerCase()}@late-join.invalid`;
      const kek = globalThis.crypto.getRandomValues(new Uint8Array(16));
      await mgr.addUser(userId, kek, [SERVICE]);
      const got: number[] = [];
      const deliveries: KeyDelivery[] = [];
      const rx = new UeReceiver({
        baseUrl: `http://127.0.0.1:${port}`, serviceId: SERVICE, userId, clock,
        keying: mode === "ME" ? { mode, kek } : { mode, card: inProcessCard(new SoftCard(kek)) },
        onPacket: (rtp) => got.push((rtp[2]! << 8) | rtp[3]!),
        onDelivery: (d) => deliveries.push(d),
      });
      cleanups.push(() => rx.close());
      await rx.start();
      return { mode, rx, got, deliveries };
    }));

    for (const u of ues) {
      expect(u.deliveries[0]!.streams).toEqual(expect.arrayContaining([{ ssrc: SSRC, roc: 2 }, { ssrc: OTHER_SSRC, roc: 1 }]));
      expect(u.deliveries[0]!.streams).toHaveLength(2);
    }
    // The next 2,000 packets (across the third wrap at 3·65,536), each to both UEs.
    for (let n = WRAPPED; n < WRAPPED + 2000; n++) {
      const srtp = protectNext(sender, SSRC, n, template);
      for (const u of ues) u.rx.receive(srtp.slice(), srtp.length);
      if (n === WRAPPED) await Promise.all(ues.map((u) => u.rx.settled())); // the first packet's TEK derivation
    }
    await Promise.all(ues.map((u) => u.rx.settled()));
    for (const u of ues) {
      expect(u.rx.stats.authFailed, u.mode).toBe(0);
      expect(u.got, u.mode).toHaveLength(2000);
      expect(u.got[0], u.mode).toBe(WRAPPED & 0xffff);
    }
  }, 60_000);

  // Before the sources told the ROCs ahead of announcing the TGKs, the queued packets were tried first: all
  // failed (64 in ME mode), the CLI's late joiners lost 512 packets after a random first sequence number.
  it("packets that arrive before the key message wait for it and decrypt under its ROC (ME and UICC)", async () => {
    const { clock, mgr, port, sender } = await bmsc(1);
    const template = rtpPacket({ seq: 0, ssrc: SSRC, payload: 64 });
    for (let n = 0; n < WRAPPED; n++) protectNext(sender, SSRC, n, template);
    const early = Array.from({ length: 200 }, (_, i) => protectNext(sender, SSRC, WRAPPED + i, template));
    for (const mode of ["ME", "UICC"] as const) {
      const userId = `sip:early-${mode.toLowerCase()}@late-join.invalid`;
      const kek = globalThis.crypto.getRandomValues(new Uint8Array(16));
      await mgr.addUser(userId, kek, [SERVICE]);
      const got: number[] = [];
      const rx = new UeReceiver({
        baseUrl: `http://127.0.0.1:${port}`, serviceId: SERVICE, userId, clock,
        keying: mode === "ME" ? { mode, kek } : { mode, card: inProcessCard(new SoftCard(kek)) },
        onPacket: (rtp) => got.push((rtp[2]! << 8) | rtp[3]!),
      });
      cleanups.push(() => rx.close());
      for (const p of early) rx.receive(p.slice(), p.length); // queued: the UE holds no TGK yet
      await rx.start();
      await rx.settled();
      // The queue keeps the newest packets of an MKI it cannot derive yet (bounded): those all decrypt.
      const kept = early.length - rx.stats.queuedDropped;
      expect(kept, mode).toBeGreaterThan(0);
      expect(rx.stats.authFailed, mode).toBe(0);
      expect(got, mode).toEqual(early.slice(-kept).map((_, i) => (WRAPPED + early.length - kept + i) & 0xffff));
    }
  }, 60_000);

  it("the ROC reported is where the indices are kept: the in-thread context and the crypto pool's authority agree", () => {
    const ctx = new SrtpContext({ keys: [{ key: new Uint8Array(16).fill(1), salt: new Uint8Array(14).fill(2) }] });
    const authority = new SrtpIndexAuthority(128);
    const template = rtpPacket({ seq: 0, ssrc: SSRC, payload: 16 });
    const buf = new Uint8Array(template.length + ctx.trailerLength);
    for (let n = 0; n < 65536 + 10; n++) {
      template.writeUInt16BE(n & 0xffff, 2);
      buf.set(template);
      ctx.protect(buf, template.length);
      expect(authority.assign(template, 0, template.length)).toBe(n);
    }
    expect(ctx.sendStreams()).toEqual([{ ssrc: SSRC, roc: 1 }]);
    expect(authority.rocs()).toEqual(ctx.sendStreams());
    ctx.close();
  });

  describe("a ROC read just before the sender wrapped (one behind the packets the receiver gets first)", () => {
    const key = { key: new Uint8Array(16).fill(3), salt: new Uint8Array(14).fill(4) };
    /** `count` SRTP packets of SSRC from packet `from` on, after the sender protected packets 0..from-1. */
    function stream(from: number, count: number): Uint8Array[] {
      const tx = new SrtpContext({ keys: [key] });
      const template = rtpPacket({ seq: 0, ssrc: SSRC, payload: 32 });
      const out: Uint8Array[] = [];
      for (let n = 0; n < from + count; n++) {
        template.writeUInt16BE(n & 0xffff, 2);
        const buf = new Uint8Array(template.length + tx.trailerLength);
        buf.set(template);
        const len = tx.protect(buf, template.length);
        if (n >= from) out.push(buf.subarray(0, len));
      }
      tx.close();
      return out;
    }
    const packets = stream(3 * 65536 + 100, 300); // ROC 3 from the first

    it("one by one: the tag is tried under the next ROC too, the stream takes it, replays are refused", () => {
      const rx = new SrtpContext({ keys: [key] });
      rx.setRoc(SSRC, 2);
      const forged = packets[0]!.slice();
      forged[forged.length - 1]! ^= 1;
      expect(rx.tryUnprotect(forged, forged.length)).toBe(-SrtpStatus.AuthFailed);
      expect(rx.getIndex(SSRC)).toBe(-1); // nothing committed by the refusal
      for (const p of packets) expect(rx.tryUnprotect(p.slice(), p.length)).toBeGreaterThan(0);
      expect(rx.getRoc(SSRC)).toBe(3);
      const recent = packets[packets.length - 5]!; // inside the replay window
      expect(rx.tryUnprotect(recent.slice(), recent.length)).toBe(-SrtpStatus.Replayed);
      rx.close();
    });

    it("in batches: the same results", () => {
      const rx = new SrtpContext({ keys: [key] });
      rx.setRoc(SSRC, 2);
      const size = packets[0]!.length;
      const buffer = new Uint8Array(size * packets.length);
      packets.forEach((p, i) => buffer.set(p, i * size));
      const offsets = Int32Array.from(packets, (_, i) => i * size);
      const lengths = Int32Array.from(packets, (p) => p.length);
      expect(rx.unprotectBatch({ buffer, offsets, lengths })).toBe(packets.length);
      expect(rx.getRoc(SSRC)).toBe(3);
      rx.close();
    });

    it("only one ROC of slack: a ROC two behind decrypts nothing", () => {
      const rx = new SrtpContext({ keys: [key] });
      rx.setRoc(SSRC, 1);
      for (const p of packets.slice(0, 20)) expect(rx.tryUnprotect(p.slice(), p.length)).toBe(-SrtpStatus.AuthFailed);
      rx.close();
    });
  });
});
