// Shared by the MkiEvaluator suites: a service with its key message, a BM-SC-like sender rotating TEK_RAND2,
// forged packets, an evaluator harness on a fake clock, and an async TekSource that answers late (a card).
import { randomBytes, randomInt } from "node:crypto";
import { afterEach } from "vitest";
import {
  buildMbmsKeyMessage, buildMki, deriveSrtpMasterKeys, loadCore, openMbmsKeyMessage, SrtpContext,
  type MbmsKeyDelivery, type TekDerivation,
} from "../../src/index.js";
import { MeTekSource, MkiEvaluator, type TekResult, type TekSource } from "../../src/mbms/ue/index.js";
import { rtpPacket } from "./rtp.js";

export const core = loadCore();
export const NOW = 1_800_000_000_000;
export const HOUR = 3_600_000;
export const SSRC = 0x5eed0001;
export const PROFILE = "AES_CM_128_HMAC_SHA1_80" as const;
export const TRAILER = 12 + 10;

export function service(tgkIds = [0x00c0ffee], derivation: TekDerivation = "alt1") {
  const kek = new Uint8Array(randomBytes(16));
  const tgks = tgkIds.map((tgkId, i) => ({ tgkId, tgk: new Uint8Array(randomBytes(16)), validFrom: NOW - HOUR + i * HOUR, expiresAt: NOW + (i + 1) * HOUR }));
  const input = {
    kek, bmscId: "bmsc.example", userId: "sip:ue1@example", serviceId: "urn:mbms:tv:1", csbId: 0x0b0b0b0b,
    tekRand: new Uint8Array(randomBytes(16)), profile: PROFILE, derivation, tgks, streams: [{ ssrc: SSRC, roc: 0 }], nowMs: NOW,
  };
  const delivery: MbmsKeyDelivery = openMbmsKeyMessage(buildMbmsKeyMessage(input, core), { kek, nowMs: NOW }, core);
  return { input, delivery };
}

/** The BM-SC's SRTP sender: a fresh TEK_RAND2 (hence MKI and TEK) on every `rotate`. */
export class Sender {
  readonly tx: SrtpContext;
  mki!: Uint8Array;
  private seq = 0;
  constructor(private readonly svc: ReturnType<typeof service>["input"], private readonly derivation: TekDerivation = "alt1", private tgkIndex = 0) {
    const k = this.next();
    this.tx = new SrtpContext({ profile: PROFILE, keys: [k] }, core);
    opened.push(this.tx);
  }
  private next() {
    const g = this.svc.tgks[this.tgkIndex]!;
    this.mki = buildMki(g.tgkId, new Uint8Array(randomBytes(8)));
    const { masterKey, masterSalt } = deriveSrtpMasterKeys(
      { tgk: g.tgk, tgkId: g.tgkId, csbId: this.svc.csbId, csId: 1, tekRand: this.svc.tekRand, mki: this.mki },
      { core, derivation: this.derivation },
    );
    return { key: masterKey, salt: masterSalt, mki: this.mki };
  }
  rotate(tgkIndex = this.tgkIndex): void {
    this.tgkIndex = tgkIndex;
    const k = this.next();
    this.tx.addKey(k);
    this.tx.setSendKey(k.mki);
  }
  packet(): { seq: number; bytes: Uint8Array } {
    const seq = this.seq++;
    const plain = rtpPacket({ seq: seq & 0xffff, ssrc: SSRC, payload: 160 });
    const buf = new Uint8Array(plain.length + TRAILER);
    buf.set(plain);
    return { seq, bytes: buf.subarray(0, this.tx.protect(buf, plain.length)) };
  }
}

/** A packet with a random (or given) MKI and a random tag: what an attacker injects. */
export function forged(mki: Uint8Array): Uint8Array {
  const p = rtpPacket({ seq: randomInt(0, 65536), ssrc: SSRC, payload: 160 });
  const out = new Uint8Array(p.length + TRAILER);
  out.set(p);
  out.set(mki, p.length);
  out.set(randomBytes(10), p.length + 12);
  return out;
}

export const seqOf = (p: Uint8Array) => (p[2]! << 8) | p[3]!;

/** Contexts, evaluators and sources of the running test, closed after it: their core slots are finite. */
export const opened: { close(): unknown }[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

export function harness(extra: Partial<ConstructorParameters<typeof MkiEvaluator>[0]> = {}, source?: TekSource, clock = { t: 0 }) {
  const got: number[] = [];
  const deliveredAt = new Map<number, number>();
  const me = new MeTekSource({ core, clock: { now: () => NOW + clock.t } });
  const unknown: number[] = [];
  const ev = new MkiEvaluator({
    tekSource: source ?? me, core, now: () => clock.t, clock: { now: () => NOW + clock.t }, onUnknownTgk: (id) => unknown.push(id),
    onPacket: (p) => {
      got.push(seqOf(p));
      deliveredAt.set(seqOf(p), clock.t);
    },
    ...extra,
  });
  opened.push(ev, me);
  return { clock, got, deliveredAt, me, ev, unknown };
}

/** An async TekSource answering after `delayMs` of the fake clock (a card behind the proxy). */
export class DelayedSource implements TekSource {
  private pending: { due: number; run: () => void }[] = [];
  calls = 0;
  constructor(private readonly inner: MeTekSource, private readonly clock: { t: number }, private readonly delayMs: number) {}
  deriveTek(mki: Uint8Array): Promise<TekResult | undefined> {
    this.calls++;
    return new Promise((resolve, reject) => {
      this.pending.push({ due: this.clock.t + this.delayMs, run: () => this.inner.deriveTek(mki).then(resolve, reject) });
    });
  }
  knownTgkIds() { return this.inner.knownTgkIds(); }
  tgkExpiries() { return this.inner.tgkExpiries(); }
  /** Answers what is due; true if anything was. */
  release(): boolean {
    const due = this.pending.filter((p) => p.due <= this.clock.t);
    this.pending = this.pending.filter((p) => p.due > this.clock.t);
    due.forEach((p) => p.run());
    return due.length > 0;
  }
}

export const turn = () => new Promise<void>((r) => setImmediate(r));

