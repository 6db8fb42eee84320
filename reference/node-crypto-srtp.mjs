// A straightforward SRTP (AES-CM + HMAC-SHA1, RFC 3711) on node:crypto: a new cipher and a new HMAC
// per packet, as most JavaScript SRTP code does. The independent implementation the tests check the WASM
// engine against (including key_derivation_rate ≠ 0), and the baseline of bench/srtp.mjs. Not part of
// the package: reference/ holds oracles that tests and benchmarks share.
import { createCipheriv, createHmac } from "node:crypto";

const aesName = (key, mode) => `aes-${key.length * 8}-${mode}`;

/** RFC 3711 §4.3: the AES-CM PRF output for `label` and r (< 2^48), `len` bytes. Label at byte 7. */
export function srtpKdf(masterKey, masterSalt, label, r, len) {
  const iv = Buffer.alloc(16);
  Buffer.from(masterSalt).copy(iv, 0);
  iv[7] ^= label;
  for (let i = 0; i < 6; i++) iv[13 - i] ^= Math.floor(r / 2 ** (8 * i)) & 0xff;
  const cipher = createCipheriv(aesName(masterKey, "ctr"), masterKey, iv);
  return cipher.update(Buffer.alloc(len));
}

/** RFC 3711 §4.1.1 IV: 00000000 | SSRC | index(6) | 0000, XOR salt ‖ 0000. */
function packetIv(salt, ssrc, index) {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(ssrc >>> 0, 4);
  iv.writeUIntBE(index, 8, 6);
  for (let i = 0; i < 14; i++) iv[i] ^= salt[i];
  return iv;
}

/** Session keys for one direction: labels base+0 (k_e), base+1 (k_a), base+2 (k_s). */
export function sessionKeys(masterKey, masterSalt, labelBase, r = 0) {
  return {
    encKey: srtpKdf(masterKey, masterSalt, labelBase, r, masterKey.length),
    authKey: srtpKdf(masterKey, masterSalt, labelBase + 1, r, 20),
    salt: srtpKdf(masterKey, masterSalt, labelBase + 2, r, 14),
  };
}

function rtpHeaderLength(p) {
  let n = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) n += 4 + 4 * p.readUInt16BE(n + 2);
  return n;
}

/**
 * SRTP for one master key and explicit indices (the caller tracks ROC): enough for baselines and
 * cross-checks, without replay protection.
 */
export class NodeCryptoSrtp {
  constructor({ key, salt, tagLength = 10, srtcpTagLength = 10, mki = null, keyDerivationRate = 0 }) {
    Object.assign(this, { key: Buffer.from(key), salt: Buffer.from(salt), tagLength, srtcpTagLength, kdr: keyDerivationRate });
    this.mki = mki ? Buffer.from(mki) : Buffer.alloc(0);
    this.cache = new Map();
  }

  keys(labelBase, index) {
    const r = this.kdr ? Math.floor(index / this.kdr) : 0;
    const id = `${labelBase}/${r}`;
    if (!this.cache.has(id)) this.cache.set(id, sessionKeys(this.key, this.salt, labelBase, r));
    return this.cache.get(id);
  }

  /** Protects an RTP packet whose index is ROC·2^16 + SEQ. */
  protect(packet, roc = 0) {
    const p = Buffer.from(packet);
    const index = roc * 65536 + p.readUInt16BE(2);
    const { encKey, authKey, salt } = this.keys(0, index);
    const h = rtpHeaderLength(p);
    const cipher = createCipheriv(aesName(encKey, "ctr"), encKey, packetIv(salt, p.readUInt32BE(8), index));
    const body = Buffer.concat([p.subarray(0, h), cipher.update(p.subarray(h))]);
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc >>> 0);
    const tag = createHmac("sha1", authKey).update(body).update(rocBytes).digest().subarray(0, this.tagLength);
    return Buffer.concat([body, this.mki, tag]);
  }

  /** Unprotects; returns the RTP packet or null when the tag does not verify. */
  unprotect(packet, roc = 0) {
    const p = Buffer.from(packet);
    const authLength = p.length - this.mki.length - this.tagLength;
    const index = roc * 65536 + p.readUInt16BE(2);
    const { encKey, authKey, salt } = this.keys(0, index);
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc >>> 0);
    const tag = createHmac("sha1", authKey).update(p.subarray(0, authLength)).update(rocBytes).digest();
    if (!tag.subarray(0, this.tagLength).equals(p.subarray(p.length - this.tagLength))) return null;
    const h = rtpHeaderLength(p);
    const cipher = createCipheriv(aesName(encKey, "ctr"), encKey, packetIv(salt, p.readUInt32BE(8), index));
    return Buffer.concat([p.subarray(0, h), cipher.update(p.subarray(h, authLength))]);
  }

  /** Protects an RTCP compound packet with SRTCP index `index` (E = 1). */
  protectRtcp(packet, index) {
    const p = Buffer.from(packet);
    const { encKey, authKey, salt } = this.keys(3, index);
    const cipher = createCipheriv(aesName(encKey, "ctr"), encKey, packetIv(salt, p.readUInt32BE(4), index));
    const eIndex = Buffer.alloc(4);
    eIndex.writeUInt32BE((0x80000000 | index) >>> 0);
    const body = Buffer.concat([p.subarray(0, 8), cipher.update(p.subarray(8)), eIndex]);
    const tag = createHmac("sha1", authKey).update(body).digest().subarray(0, this.srtcpTagLength);
    return Buffer.concat([body, this.mki, tag]);
  }
}
