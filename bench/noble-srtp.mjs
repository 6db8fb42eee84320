// SRTP (AES-CM + HMAC-SHA1, RFC 3711) on @noble/ciphers and @noble/hashes: the pure-JavaScript peer of
// bench/srtp.mjs (Node) and bench/browser (a Worker). It takes the session keys, derived by the caller
// (node:crypto in Node, the project's KDF in the browser), so that it imports nothing Node-only.
import { ctr } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";

const be32 = (x) => new Uint8Array([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]);

/** RFC 3711 §4.1.1, for RTP packet `p` under `roc`: 00000000 | SSRC | ROC ‖ SEQ | 0000, XOR salt ‖ 0000. */
export function packetIv(salt, p, roc) {
  const iv = new Uint8Array(16);
  iv.set(p.subarray(8, 12), 4);
  iv.set(be32(roc), 8);
  iv[12] = p[2];
  iv[13] = p[3];
  for (let i = 0; i < 14; i++) iv[i] ^= salt[i];
  return iv;
}

export class NobleSrtp {
  /** `encKey`, `authKey`, `salt`: one direction's SRTP session keys (RFC 3711 §4.3, labels 0..2). */
  constructor({ encKey, authKey, salt, tagLength = 10 }) {
    Object.assign(this, { encKey, authKey, salt, tagLength });
  }

  tag(p, authLength, roc) {
    return hmac.create(sha1, this.authKey).update(p.subarray(0, authLength)).update(be32(roc)).digest();
  }

  protect(p, roc = 0) {
    const h = 12 + 4 * (p[0] & 15);
    const out = new Uint8Array(p.length + this.tagLength);
    out.set(p.subarray(0, h));
    out.set(ctr(this.encKey, packetIv(this.salt, p, roc)).encrypt(p.subarray(h)), h);
    out.set(this.tag(out, p.length, roc).subarray(0, this.tagLength), p.length);
    return out;
  }

  unprotect(p, roc = 0) {
    const authLength = p.length - this.tagLength;
    const mac = this.tag(p, authLength, roc);
    let diff = 0;
    for (let i = 0; i < this.tagLength; i++) diff |= mac[i] ^ p[authLength + i];
    if (diff) return null;
    const h = 12 + 4 * (p[0] & 15);
    const out = new Uint8Array(authLength);
    out.set(p.subarray(0, h));
    out.set(ctr(this.encKey, packetIv(this.salt, p, roc)).encrypt(p.subarray(h, authLength)), h);
    return out;
  }
}
