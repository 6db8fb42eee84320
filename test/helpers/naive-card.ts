// ============================================================================================================
//  DEMONSTRATION OF WHAT NOT TO DO. Test-only; never ship anything shaped like this.
// ============================================================================================================
//
// A deliberately naive "secure module" (UICC/HSM) for test/precalculation-attack.test.ts. It keeps an SRTP
// master key and salt inside and, on request, hands out the RFC 3711 session keys (k_e, k_a, k_s) for any
// r = index DIV key_derivation_rate the host asks for. The master key itself never leaves the card, which
// looks safe, but r is a public, predictable counter: whoever holds the card for a moment can ask for every
// future r at once and keep the answers. The card is then an oracle for the whole future of the stream
// (docs/precalculation-attack.md).
//
// The KDF is the independent node:crypto one in reference/node-crypto-srtp.mjs, not our WASM engine, so the
// attack in the test also cross-checks the engine's key_derivation_rate handling.
import { srtpKdf } from "../../reference/node-crypto-srtp.mjs";

/** SRTP session keys for one r (RFC 3711 §4.3.1–4.3.2, labels 0, 1, 2). */
export interface SrtpSessionKeys {
  readonly r: number;
  /** k_e, the AES-CM session encryption key (as long as the master key). */
  readonly encKey: Buffer;
  /** k_a, the HMAC-SHA1 session authentication key (20 bytes). */
  readonly authKey: Buffer;
  /** k_s, the session salt (14 bytes). */
  readonly salt: Buffer;
}

const MAX_R = 2 ** 48; // r is the 48-bit index divided by kdr: always below 2^48

/** NOT WHAT TO DO: a card that derives SRTP session keys from (master key, index) for whoever asks. */
export class NaiveSessionKeyCard {
  readonly #masterKey: Buffer;
  readonly #masterSalt: Buffer;
  /** How many session-key sets the card has handed out. */
  queries = 0;

  constructor(masterKey: Uint8Array, masterSalt: Uint8Array, readonly keyDerivationRate: number) {
    if (!(Number.isInteger(keyDerivationRate) && keyDerivationRate > 0)) {
      throw new Error("the naive card models key_derivation_rate ≠ 0 (r = index DIV kdr)");
    }
    this.#masterKey = Buffer.from(masterKey);
    this.#masterSalt = Buffer.from(masterSalt);
  }

  /** The SRTP session keys for r. No check of who asks, or whether r lies in the future: that is the flaw. */
  sessionKeys(r: number): SrtpSessionKeys {
    if (!(Number.isInteger(r) && r >= 0 && r < MAX_R)) throw new Error(`r is an integer in 0..2^48, got ${r}`);
    this.queries++;
    const k = this.#masterKey, s = this.#masterSalt;
    return {
      r,
      encKey: srtpKdf(k, s, 0, r, k.length) as Buffer,
      authKey: srtpKdf(k, s, 1, r, 20) as Buffer,
      salt: srtpKdf(k, s, 2, r, 14) as Buffer,
    };
  }

  /** The session keys in force for the 48-bit SRTP packet index `index`. */
  sessionKeysForIndex(index: number): SrtpSessionKeys {
    return this.sessionKeys(Math.floor(index / this.keyDerivationRate));
  }
}
