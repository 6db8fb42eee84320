// SRTP unprotect (AES_CM_128_HMAC_SHA1_80, RFC 3711) on the browser's asynchronous WebCrypto: the
// baseline of issue 12. Keys are imported once. Per packet: HMAC-SHA1 sign over header ‖ payload ‖ ROC,
// the first 10 bytes compared with the tag in constant time (crypto.subtle.verify cannot check a
// truncated tag), then AES-CTR decrypt of the payload with the RFC 3711 §4.1.1 IV as the counter block,
// whose low 16 bits count the blocks. Like the noble peer: fixed header (no CSRC, no extension), ROC
// given by the caller, no replay window.
import { packetIv } from "../noble-srtp.mjs";

const HEADER = 12;

export class WebCryptoSrtp {
  constructor(aesKey, hmacKey, salt, tagLength) {
    Object.assign(this, { aesKey, hmacKey, salt, tagLength });
    this.scratch = new Uint8Array(0);
  }

  /** From one direction's session keys (RFC 3711 §4.3). */
  static async create({ encKey, authKey, salt, tagLength = 10 }) {
    const aesKey = await crypto.subtle.importKey("raw", encKey, "AES-CTR", false, ["decrypt"]);
    const hmacKey = await crypto.subtle.importKey("raw", authKey, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
    return new WebCryptoSrtp(aesKey, hmacKey, salt, tagLength);
  }

  /** The decrypted payload of SRTP packet `p`, or null when its tag does not verify. */
  async unprotect(p, roc = 0) {
    const authLength = p.length - this.tagLength;
    // sign() copies its input before returning (WebCrypto: "get a copy of the bytes"), so one scratch
    // buffer serves every packet in flight.
    if (this.scratch.length !== authLength + 4) this.scratch = new Uint8Array(authLength + 4);
    const m = this.scratch;
    m.set(p.subarray(0, authLength));
    new DataView(m.buffer).setUint32(authLength, roc);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", this.hmacKey, m));
    let diff = 0;
    for (let i = 0; i < this.tagLength; i++) diff |= mac[i] ^ p[authLength + i];
    if (diff) return null;
    const counter = packetIv(this.salt, p, roc);
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CTR", counter, length: 16 }, this.aesKey, p.subarray(HEADER, authLength)));
  }
}
