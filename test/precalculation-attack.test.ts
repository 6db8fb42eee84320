// The pre-calculation attack, shown (docs/architecture.md §1, docs/precalculation-attack.md).
//
// 1. Naive design (what NOT to do): a card derives SRTP session keys from (master key, r = index DIV kdr).
//    An attacker who holds it for a moment asks for the next 50 r values, gives the card back, and later
//    decrypts the BM-SC's stream with those session keys alone, using its own node:crypto AES-CTR + HMAC,
//    independent of our WASM engine.
// 2. TEK_RAND2 design: the card derives TEK = PRF(TGK, … ‖ TEK_RAND ‖ TEK_RAND2) only for an MKI it is
//    given. Every MKI the attacker can think of (the current one, 10,000 guesses) yields nothing for the
//    next period, whose TEK_RAND2 the BM-SC draws at random and reveals only when the period starts.
import { createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildMki,
  deriveSrtpMasterKeys,
  loadCore,
  SrtpContext,
  SrtpStatus,
  type SrtpMasterKeys,
} from "../src/index.js";
import { NaiveSessionKeyCard, type SrtpSessionKeys } from "./helpers/naive-card.js";
import { contextsOn } from "./helpers/contexts.js";
import { rtpPacket, withRoom } from "./helpers/rtp.js";

const TAG = 10; // AES_CM_128_HMAC_SHA1_80
const PACKETS_PER_SECOND = 50; // a 20 ms audio/video cadence, for turning packet counts into wall time
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const core = loadCore();
const context = contextsOn(core);

/** Protects `plain` (an RTP packet) with `tx` and returns the SRTP packet as its own buffer. */
function protect(tx: SrtpContext, plain: Buffer): Buffer {
  const buf = withRoom(plain);
  const n = tx.protect(buf, plain.length);
  return Buffer.from(buf.subarray(0, n));
}

// ---- the attacker's own SRTP receive code: node:crypto only, nothing from src/ ------------------------------

function rtpHeaderLength(p: Buffer): number {
  let n = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) n += 4 + 4 * p.readUInt16BE(n + 2);
  return n;
}

/** AES-CM with the RFC 3711 §4.1.1 IV = (k_s ‖ 0x0000) XOR (0^32 ‖ SSRC ‖ index ‖ 0^16); no tag check. */
function attackerDecrypt(srtp: Buffer, index: number, keys: SrtpSessionKeys, authLength: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(srtp.readUInt32BE(8), 4);
  iv.writeUIntBE(index, 8, 6);
  for (let i = 0; i < 14; i++) iv[i]! ^= keys.salt[i]!;
  const h = rtpHeaderLength(srtp);
  const aes = createDecipheriv(`aes-${keys.encKey.length * 8}-ctr`, keys.encKey, iv);
  return Buffer.concat([srtp.subarray(0, h), aes.update(srtp.subarray(h, authLength)), aes.final()]);
}

/** RFC 3711 receive: HMAC-SHA1(k_a, header ‖ payload ‖ ROC) must match the tag, then decrypt. Null if not. */
function attackerOpen(srtp: Buffer, roc: number, keys: SrtpSessionKeys): Buffer | null {
  const authLength = srtp.length - TAG; // no MKI in the naive design's stream
  const rocBytes = Buffer.alloc(4);
  rocBytes.writeUInt32BE(roc >>> 0);
  const tag = createHmac("sha1", keys.authKey).update(srtp.subarray(0, authLength)).update(rocBytes).digest().subarray(0, TAG);
  if (!timingSafeEqual(tag, srtp.subarray(authLength))) return null;
  return attackerDecrypt(srtp, roc * 65536 + srtp.readUInt16BE(2), keys, authLength);
}

// ---- 1. the naive design -------------------------------------------------------------------------------------

describe("naive design (what NOT to do): the card derives session keys from (master key, index)", () => {
  it("a moment's possession stockpiles the next 50 r values; the attacker then decrypts that traffic alone", () => {
    const KDR = 2 ** 10; // key_derivation_rate: a new session key every 1024 packets (~20 s at 50 packets/s)
    const FUTURE_R = 50; // future r values the attacker asks for
    const BEYOND_R = 2; // periods streamed after the stockpile runs out
    const ssrc = 0x5eed0001;
    const masterKey = randomBytes(16), masterSalt = randomBytes(14);

    // The stream has been running: at t0 it is at ROC 3, SEQ 40123.
    let roc = 3, seq = 40_123;
    const t0Index = roc * 65536 + seq;
    const r0 = Math.floor(t0Index / KDR);
    const lastR = r0 + FUTURE_R + BEYOND_R;

    const bmsc = context({ keys: [{ key: masterKey, salt: masterSalt }], keyDerivationRate: KDR });
    bmsc.setRoc(ssrc, roc, { send: true });
    const subscriber = context({ keys: [{ key: masterKey, salt: masterSalt }], keyDerivationRate: KDR });
    subscriber.setRoc(ssrc, roc);

    // t0: the attacker holds the card for a moment and asks it for the current r and the next 50.
    const stockpile = ((card: NaiveSessionKeyCard) => {
      const keys = new Map<number, SrtpSessionKeys>();
      for (let r = r0; r <= r0 + FUTURE_R; r++) keys.set(r, card.sessionKeys(r));
      expect(card.queries).toBe(FUTURE_R + 1);
      return keys;
    })(new NaiveSessionKeyCard(masterKey, masterSalt, KDR));
    // The card is gone (it was never bound to a variable the rest of this test can reach). From here the
    // attacker has `stockpile` and the packets it sniffs off the air, nothing else.

    let attackerRoc = roc, attackerLastSeq = seq; // the attacker tracks ROC from the sniffed SEQ like any receiver
    let sent = 0, inRange = 0, recovered = 0, beyond = 0, beyondRecovered = 0, subscriberOk = 0, rocWraps = 0;
    const lastIndex = (lastR + 1) * KDR - 1;
    for (let index = t0Index + 1; index <= lastIndex; index++) {
      seq = (seq + 1) & 0xffff;
      if (seq === 0) {
        roc++;
        rocWraps++;
      }
      expect(roc * 65536 + seq).toBe(index);
      const plain = rtpPacket({ seq, ssrc, payload: 160, timestamp: index * 160 });
      const srtp = protect(bmsc, plain);
      sent++;

      // The legitimate subscriber, with the master key, decrypts everything (the stream is plain RFC 3711).
      const mine = Buffer.from(srtp);
      if (subscriber.tryUnprotect(mine, mine.length) === plain.length && mine.subarray(0, plain.length).equals(plain)) subscriberOk++;

      // The attacker: ROC from SEQ, r from the index, the session keys from the stockpile.
      const sniffedSeq = srtp.readUInt16BE(2);
      if (sniffedSeq < attackerLastSeq) attackerRoc++;
      attackerLastSeq = sniffedSeq;
      const attackerIndex = attackerRoc * 65536 + sniffedSeq;
      const r = Math.floor(attackerIndex / KDR);
      const keys = stockpile.get(r);
      if (keys) {
        inRange++;
        const got = attackerOpen(srtp, attackerRoc, keys);
        if (got !== null && got.equals(plain)) recovered++;
      } else {
        // Beyond the stockpile: no stockpiled key set authenticates the packet, and none decrypts it.
        expect(r).toBeGreaterThan(r0 + FUTURE_R);
        beyond++;
        let opened = false;
        for (const k of stockpile.values()) {
          if (attackerOpen(srtp, attackerRoc, k) !== null) opened = true;
          if (attackerDecrypt(srtp, attackerIndex, k, srtp.length - TAG).equals(plain)) opened = true;
        }
        if (opened) beyondRecovered++;
      }
    }
    expect(bmsc.getIndex(ssrc, { send: true })).toBe(lastIndex); // the engine's sender used the indices we think

    const expectedInRange = (r0 + FUTURE_R + 1) * KDR - 1 - t0Index;
    expect(rocWraps).toBe(1); // the SEQ wrapped inside the stockpiled range: the ROC tracking is exercised
    expect(subscriberOk).toBe(sent);
    expect(inRange).toBe(expectedInRange);
    expect(recovered).toBe(inRange); // every packet after t0 up to the end of r0 + 50: recovered exactly
    expect(beyond).toBe(BEYOND_R * KDR);
    expect(beyondRecovered).toBe(0); // and nothing after the stockpile runs out

    const minutes = (inRange / PACKETS_PER_SECOND / 60).toFixed(1);
    console.info(
      `[naive] kdr 2^10; ${stockpile.size} card queries at t0 (r = ${r0}..${r0 + FUTURE_R}); card returned; ` +
        `then ${sent} packets streamed: ${recovered}/${inRange} in the stockpiled range recovered exactly ` +
        `(≈ ${minutes} min at ${PACKETS_PER_SECOND} packets/s), ${beyondRecovered}/${beyond} beyond it`,
    );
  });
});

// ---- 2. the TEK_RAND2 design ---------------------------------------------------------------------------------

/**
 * The design's UICC (docs/key-derivation.md §4): it holds the TGK (delivered by MIKEY under the KEK) and returns the
 * SRTP master key and salt for an MKI = TGK-ID ‖ TEK_RAND2 it is given, by Alternative 1. It answers any
 * MKI, as the design's card does: the MKI is not authenticated.
 */
class TekRand2Card {
  readonly #tgk: Uint8Array;
  derivations = 0;
  constructor(tgk: Uint8Array, readonly tgkId: number, readonly csbId: number, readonly csId: number, readonly tekRand: Uint8Array) {
    this.#tgk = tgk.slice();
  }

  generateTrafficKey(mki: Uint8Array): SrtpMasterKeys {
    this.derivations++;
    return deriveSrtpMasterKeys(
      { tgk: this.#tgk, tgkId: this.tgkId, csbId: this.csbId, csId: this.csId, tekRand: this.tekRand, mki },
      { derivation: "alt1", core },
    );
  }
}

/** 8 random bytes from the Web Crypto API, as the BM-SC draws TEK_RAND2. */
const freshTekRand2 = () => crypto.getRandomValues(new Uint8Array(8));

/** TEK_RAND2 + k as a 64-bit big-endian counter: what a BM-SC that counted instead of drawing would send. */
function successor(rand: Uint8Array, k: number): Uint8Array {
  const v = (new DataView(rand.buffer, rand.byteOffset, 8).getBigUint64(0) + BigInt(k)) & 0xffffffffffffffffn;
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

/** The MKI at the end of an SRTP packet (before the tag). */
const mkiOf = (srtp: Buffer, mkiLength: number) => srtp.subarray(srtp.length - TAG - mkiLength, srtp.length - TAG);

describe("TEK_RAND2 design: the card derives TEK = PRF(TGK, … ‖ TEK_RAND ‖ TEK_RAND2) only for a given MKI", () => {
  const tgk = randomBytes(16);
  const tgkId = 0x00000007, csbId = randomBytes(4).readUInt32BE(0), csId = 1;
  const tekRand = randomBytes(16);
  const bmscTek = (mki: Uint8Array) => deriveSrtpMasterKeys({ tgk, tgkId, csbId, csId, tekRand, mki }, { derivation: "alt1", core });
  const ssrc = 0x7e4a0002;
  const PERIOD_PACKETS = 64;
  const GUESSES = 10_000;

  it("10,000 guessed MKIs plus the real one, queried during possession, yield nothing for the next period", () => {
    // Period 1: the BM-SC draws TEK_RAND2 and streams under MKI 1 = TGK-ID ‖ TEK_RAND2.
    const rand1 = freshTekRand2();
    const mki1 = buildMki(tgkId, rand1);
    const tek1 = bmscTek(mki1);
    const bmsc = context({ keys: [{ key: tek1.masterKey, salt: tek1.masterSalt, mki: mki1 }] });
    let seq = 1000;
    const period1 = Array.from({ length: PERIOD_PACKETS }, () => {
      const plain = rtpPacket({ seq: seq++, ssrc, payload: 160 });
      return { plain, srtp: protect(bmsc, plain) };
    });

    // During period 1 the attacker holds the card and queries it as often as they like: the real MKI (read
    // off the air), 5,000 random TEK_RAND2 guesses, and 5,000 counter successors of the current TEK_RAND2
    // (the right guess if the BM-SC counted instead of drawing).
    const attackerCard = new TekRand2Card(tgk, tgkId, csbId, csId, tekRand);
    const stockpile: { mki: Uint8Array; tek: SrtpMasterKeys }[] = [];
    const ask = (mki: Uint8Array) => stockpile.push({ mki, tek: attackerCard.generateTrafficKey(mki) });
    ask(mki1);
    for (let i = 0; i < GUESSES / 2; i++) ask(buildMki(tgkId, freshTekRand2()));
    for (let k = 1; k <= GUESSES / 2; k++) ask(buildMki(tgkId, successor(rand1, k)));
    expect(attackerCard.derivations).toBe(GUESSES + 1); // the card never refuses: each MKI is a card operation
    // The card is returned. What the attacker keeps:
    const stockpiledMkis = new Set(stockpile.map((s) => hex(s.mki)));
    const stockpiledKeys = new Set(stockpile.map((s) => hex(s.tek.masterKey)));
    const stockpiledSalts = new Set(stockpile.map((s) => hex(s.tek.masterSalt)));
    expect(stockpiledMkis.size).toBe(GUESSES + 1);
    expect(stockpiledKeys.size).toBe(GUESSES + 1); // distinct MKIs, distinct TEKs

    // The oracle did work for what was already public: the stockpiled TEK of MKI 1 opens period 1.
    const current = context({ keys: [{ key: stockpile[0]!.tek.masterKey, salt: stockpile[0]!.tek.masterSalt, mki: mki1 }] });
    for (const { plain, srtp } of period1) {
      const buf = Buffer.from(srtp);
      expect(current.tryUnprotect(buf, buf.length)).toBe(plain.length);
      expect(buf.subarray(0, plain.length).equals(plain)).toBe(true);
    }
    // And had the BM-SC counted (TEK_RAND2 + 1), the stockpile would already hold the next TEK: the
    // randomness of TEK_RAND2 is what the defence rests on, not the derivation.
    const counted = buildMki(tgkId, successor(rand1, 1));
    expect(stockpiledKeys.has(hex(bmscTek(counted).masterKey))).toBe(true);

    // Period 2: the BM-SC draws a fresh TEK_RAND2 and starts sending under MKI 2.
    const rand2 = freshTekRand2();
    const mki2 = buildMki(tgkId, rand2);
    const tek2 = bmscTek(mki2);
    bmsc.addKey({ key: tek2.masterKey, salt: tek2.masterSalt, mki: mki2 });
    bmsc.setSendKey(mki2);
    const period2 = Array.from({ length: PERIOD_PACKETS }, () => {
      const plain = rtpPacket({ seq: seq++, ssrc, payload: 160 });
      return { plain, srtp: protect(bmsc, plain) };
    });
    expect(period2.every(({ srtp }) => mkiOf(srtp, mki2.length).equals(mki2))).toBe(true);

    expect(stockpiledMkis.has(hex(mki2))).toBe(false);
    expect(stockpiledKeys.has(hex(tek2.masterKey))).toBe(false);
    expect(stockpiledSalts.has(hex(tek2.masterSalt))).toBe(false);

    // Every stockpiled TEK, installed under MKI 2 (the attacker sees it on the wire, so the packets reach
    // the tag check), against every packet of period 2: each one must fail authentication.
    const statuses = new Map<number, number>();
    const attacker = context({ keys: [{ key: stockpile[0]!.tek.masterKey, salt: stockpile[0]!.tek.masterSalt, mki: mki2 }] });
    for (let i = 0; i < stockpile.length; i++) {
      if (i > 0) {
        attacker.removeKey(mki2);
        attacker.addKey({ key: stockpile[i]!.tek.masterKey, salt: stockpile[i]!.tek.masterSalt, mki: mki2 });
      }
      for (const { srtp } of period2) {
        const buf = Buffer.from(srtp);
        const status = attacker.tryUnprotect(buf, buf.length);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    expect([...statuses]).toEqual([[-SrtpStatus.AuthFailed, stockpile.length * PERIOD_PACKETS]]);

    // A legitimate receiver (its own card, same TGK from MIKEY) sees the new MKI, asks its card for that
    // TEK, and decrypts every packet of both periods.
    const subscriberCard = new TekRand2Card(tgk, tgkId, csbId, csId, tekRand);
    let rx: SrtpContext | undefined;
    let decrypted = 0;
    for (const { plain, srtp } of [...period1, ...period2]) {
      const mki = mkiOf(srtp, mki1.length);
      if (!rx?.hasKey(mki)) {
        const tek = subscriberCard.generateTrafficKey(mki);
        const init = { key: tek.masterKey, salt: tek.masterSalt, mki: Uint8Array.from(mki) };
        if (rx) rx.addKey(init);
        else rx = context({ keys: [init] });
      }
      const buf = Buffer.from(srtp);
      if (rx.tryUnprotect(buf, buf.length) === plain.length && buf.subarray(0, plain.length).equals(plain)) decrypted++;
    }
    expect(decrypted).toBe(2 * PERIOD_PACKETS);
    expect(subscriberCard.derivations).toBe(2); // one card operation per period, not per packet

    const p = (GUESSES / 2 ** 64).toExponential(2);
    console.info(
      `[TEK_RAND2] ${attackerCard.derivations} card queries during possession (1 real MKI + ${GUESSES} guesses); ` +
        `next period's TEK among them: no; ${stockpile.length} stockpiled TEKs × ${PERIOD_PACKETS} packets = ` +
        `${stockpile.length * PERIOD_PACKETS} tries, all AuthFailed; subscriber decrypted ${decrypted}/${2 * PERIOD_PACKETS}; ` +
        `chance a random 64-bit TEK_RAND2 is among ${GUESSES} guesses ≈ ${p}`,
    );
  });

  it("what remains: a card still held once TEK_RAND2 is public derives the TEK, so revocation needs a new TGK", () => {
    const mki = buildMki(tgkId, freshTekRand2());
    const stillHeld = new TekRand2Card(tgk, tgkId, csbId, csId, tekRand);
    const tek = stillHeld.generateTrafficKey(mki);
    expect(hex(tek.masterKey)).toBe(hex(bmscTek(mki).masterKey));
    // After rotation (a new TGK delivered only to members), the same MKI value under the old TGK is useless.
    const rotated = randomBytes(16);
    const newTek = deriveSrtpMasterKeys({ tgk: rotated, tgkId, csbId, csId, tekRand, mki }, { derivation: "alt1", core });
    expect(hex(newTek.masterKey)).not.toBe(hex(tek.masterKey));
  });
});
