// The libsrtp2 Node-API addon (native/libsrtp) against libsrtp's own known-answer packets, plus its
// error behaviour. This addon is the interop oracle for the WASM library, so this file must FAIL,
// not skip, when the addon is missing: build it with `npm run build:libsrtp` (needs libsrtp2-dev).
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";

type Lib = typeof import("../../native/libsrtp/index.js");
let lib: Lib;
try {
  lib = await import("../../native/libsrtp/index.js");
} catch (cause) {
  throw new Error("libsrtp addon not loadable: run `npm run build:libsrtp` (apt-get install libsrtp2-dev)", {
    cause,
  });
}
const { Session, version, SRTP_MAX_TRAILER_LEN, SRTCP_MAX_TRAILER_LEN } = lib;
type Policy = ConstructorParameters<typeof Session>[0];

const fromHex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");

// libsrtp test/srtp_driver.c vectors.
const KEY1 = fromHex("e1f97a0d3e018be0d64fa32c06de4139" + "0ec675ad498afeebb6960b3aabe6");
const MKI1 = fromHex("e1f97a0d");
const KEY2 = fromHex("f0f04914b513f2763a1b1fa130f10e29" + "98f6f6e43e4309d1e622a0e332b9");
const MKI2 = fromHex("f3a14671");
const SSRC = 0xcafebabe;
const RTP = "800f1234decafbadcafebabe" + "ab".repeat(16);
const SRTP = "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb";
const SRTP_MKI = "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402e1f97a0db78d6acc99ea179b8dbb";
const RTCP = "81c8000bcafebabe" + "ab".repeat(16);
const SRTCP_MKI =
  "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001e1f97a0d993e08cd54d6c1230798";

/** A packet in a buffer with room for the trailer; returns [buffer, length]. */
function packet(h: string): [Uint8Array, number] {
  const p = fromHex(h);
  const buf = new Uint8Array(p.length + SRTCP_MAX_TRAILER_LEN);
  buf.set(p);
  return [buf, p.length];
}
/** An RTP packet with the given sequence number and payload length. */
function rtpPacket(seq: number, payloadLen: number, ssrc = SSRC): [Uint8Array, number] {
  const buf = new Uint8Array(12 + payloadLen + SRTP_MAX_TRAILER_LEN);
  const v = new DataView(buf.buffer);
  v.setUint8(0, 0x80);
  v.setUint8(1, 0x0f);
  v.setUint16(2, seq);
  v.setUint32(4, 0xdecafbad);
  v.setUint32(8, ssrc);
  buf.fill(0xab, 12, 12 + payloadLen);
  return [buf, 12 + payloadLen];
}
const session = (direction: "inbound" | "outbound", extra: Partial<Policy> = {}) =>
  new Session({ profile: "AES_CM_128_HMAC_SHA1_80", direction, keys: [{ key: KEY1 }], ...extra });
const mkiKeys = [
  { key: KEY1, mki: MKI1 },
  { key: KEY2, mki: MKI2 },
];

/** Run fn and return the thrown error's code and status. */
function thrown(fn: () => unknown): { code?: string; status?: number; name?: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: string; status?: number };
    return { code: err.code, status: err.status, name: err.name };
  }
  throw new Error("expected a throw");
}

describe("libsrtp addon", () => {
  it("loads and reports libsrtp 2.x", () => {
    expect(version()).toMatch(/^libsrtp2? ?2\.\d+\.\d+/);
  });

  it("RTP known answer, no MKI, and its round trip", () => {
    const [buf, len] = packet(RTP);
    const n = session("outbound").protect(buf, len);
    expect(hex(buf.subarray(0, n))).toBe(SRTP);
    const m = session("inbound").unprotect(buf, n);
    expect(hex(buf.subarray(0, m))).toBe(RTP);
  });

  it("RTP known answer with MKI e1f97a0d, and its round trip", () => {
    const [buf, len] = packet(RTP);
    const n = session("outbound", { keys: mkiKeys }).protect(buf, len, 0);
    expect(hex(buf.subarray(0, n))).toBe(SRTP_MKI);
    const m = session("inbound", { keys: mkiKeys }).unprotect(buf, n);
    expect(hex(buf.subarray(0, m))).toBe(RTP);
  });

  it("RTCP known answer with MKI e1f97a0d (first SRTCP index is 1), and its round trip", () => {
    const [buf, len] = packet(RTCP);
    const n = session("outbound", { keys: mkiKeys }).protectRtcp(buf, len);
    expect(hex(buf.subarray(0, n))).toBe(SRTCP_MKI);
    const m = session("inbound", { keys: mkiKeys }).unprotectRtcp(buf, n);
    expect(hex(buf.subarray(0, m))).toBe(RTCP);
  });

  it("rejects a replayed SRTP and SRTCP packet with replay_fail", () => {
    const [buf, len] = packet(RTP);
    const n = session("outbound").protect(buf, len);
    const rx = session("inbound");
    const copy = buf.slice();
    rx.unprotect(buf, n);
    expect(thrown(() => rx.unprotect(copy, n))).toMatchObject({ code: "srtp_err_status_replay_fail", status: 9 });

    const [cbuf, clen] = packet(RTCP);
    const cn = session("outbound").protectRtcp(cbuf, clen);
    const ccopy = cbuf.slice();
    rx.unprotectRtcp(cbuf, cn);
    expect(thrown(() => rx.unprotectRtcp(ccopy, cn))).toMatchObject({ code: "srtp_err_status_replay_fail" });
  });

  it("rejects a flipped bit with auth_fail (payload, header, tag; RTP and RTCP)", () => {
    const [buf, len] = packet(RTP);
    const n = session("outbound").protect(buf, len);
    for (const bit of [0, 8 * 5, 8 * 20 + 3, 8 * (n - 1) + 7]) {
      const bad = buf.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(thrown(() => session("inbound").unprotect(bad, n)), `bit ${bit}`).toMatchObject({
        code: "srtp_err_status_auth_fail",
        status: 7,
      });
    }
    const [cbuf, clen] = packet(RTCP);
    const cn = session("outbound").protectRtcp(cbuf, clen);
    cbuf[10]! ^= 0x80;
    expect(thrown(() => session("inbound").unprotectRtcp(cbuf, cn))).toMatchObject({
      code: "srtp_err_status_auth_fail",
    });
  });

  it("selects the second key by mkiIndex; a receiver with both keys decrypts both", () => {
    const tx = session("outbound", { keys: mkiKeys });
    const rx = session("inbound", { keys: mkiKeys });
    const [a, alen] = rtpPacket(1, 100);
    const [b, blen] = rtpPacket(2, 100);
    const an = tx.protect(a, alen, 0);
    const bn = tx.protect(b, blen, 1);
    // The MKI sits between the encrypted payload and the 10-byte tag.
    expect(hex(a.subarray(an - 14, an - 10))).toBe(hex(MKI1));
    expect(hex(b.subarray(bn - 14, bn - 10))).toBe(hex(MKI2));
    // Key 2 on its own (no MKI) gives the same ciphertext: the MKI only picks the key.
    const [c, clen] = rtpPacket(2, 100);
    const cn = session("outbound", { keys: [{ key: KEY2 }] }).protect(c, clen);
    expect(hex(c.subarray(0, cn - 10))).toBe(hex(b.subarray(0, 12 + 100)));
    // Receiver with only key 1 does not know MKI f3a14671.
    expect(thrown(() => session("inbound", { keys: [mkiKeys[0]!] }).unprotect(b.slice(), bn))).toMatchObject({
      code: "srtp_err_status_bad_mki",
    });
    expect(rx.unprotect(a, an)).toBe(alen);
    expect(rx.unprotect(b, bn)).toBe(blen);
    const [plain] = rtpPacket(1, 100);
    expect(hex(a.subarray(0, alen))).toBe(hex(plain.subarray(0, alen)));

    // SRTCP with key 2.
    const [r, rlen] = packet(RTCP);
    const rn = tx.protectRtcp(r, rlen, 1);
    expect(hex(r.subarray(rn - 14, rn - 10))).toBe(hex(MKI2));
    expect(rx.unprotectRtcp(r, rn)).toBe(rlen);
    expect(hex(r.subarray(0, rlen))).toBe(RTCP);
  });

  it.each([
    ["AES_CM_128_HMAC_SHA1_80", 30, 10],
    ["AES_CM_128_HMAC_SHA1_32", 30, 4],
    ["AES_256_CM_HMAC_SHA1_80", 46, 10],
    ["AES_256_CM_HMAC_SHA1_32", 46, 4],
  ] as const)("%s round trip (RTP tag %#, RTCP tag always 10)", (profile, keyLen, tagLen) => {
    const key = new Uint8Array(randomBytes(keyLen));
    const tx = new Session({ profile, direction: "outbound", keys: [{ key }] });
    const rx = new Session({ profile, direction: "inbound", keys: [{ key }] });
    for (let seq = 0; seq < 5; seq++) {
      const [buf, len] = rtpPacket(seq, 1200);
      const plain = hex(buf.subarray(0, len));
      const n = tx.protect(buf, len);
      expect(n).toBe(len + tagLen);
      expect(hex(buf.subarray(12, len))).not.toBe(plain.slice(24));
      expect(rx.unprotect(buf, n)).toBe(len);
      expect(hex(buf.subarray(0, len))).toBe(plain);
    }
    const [cbuf, clen] = packet(RTCP);
    const cn = tx.protectRtcp(cbuf, clen);
    expect(cn).toBe(clen + 4 + 10);
    expect(rx.unprotectRtcp(cbuf, cn)).toBe(clen);
    expect(hex(cbuf.subarray(0, clen))).toBe(RTCP);
    // The wrong key length for the profile is refused.
    expect(
      thrown(() => new Session({ profile, direction: "inbound", keys: [{ key: key.subarray(1) }] })),
    ).toMatchObject({ code: "ERR_INVALID_ARG", name: "TypeError" });
  });

  it("setRoc/getRoc round trip (ROC takes effect with the next packet)", () => {
    const tx = session("outbound", { ssrc: SSRC });
    expect(tx.getRoc(SSRC)).toBe(0);
    tx.setRoc(SSRC, 5);
    const [buf, len] = packet(RTP);
    const n = tx.protect(buf, len);
    expect(tx.getRoc(SSRC)).toBe(5);
    expect(hex(buf.subarray(0, n))).not.toBe(SRTP); // ROC is in the IV and the auth tag
    // A receiver at ROC 0 fails authentication; one told ROC 5 decrypts.
    expect(thrown(() => session("inbound").unprotect(buf.slice(), n))).toMatchObject({
      code: "srtp_err_status_auth_fail",
    });
    const rx = session("inbound", { ssrc: SSRC });
    rx.setRoc(SSRC, 5);
    expect(rx.unprotect(buf, n)).toBe(len);
    expect(hex(buf.subarray(0, len))).toBe(RTP);
    expect(rx.getRoc(SSRC)).toBe(5);
    // With a wildcard SSRC the stream only exists after its first packet.
    expect(thrown(() => session("inbound").setRoc(SSRC, 1))).toMatchObject({ code: "srtp_err_status_bad_param" });
  });

  it("checks capacity, arguments and close()", () => {
    const tx = session("outbound");
    const [buf, len] = packet(RTP);
    expect(thrown(() => tx.protect(buf.subarray(0, len + SRTP_MAX_TRAILER_LEN - 1), len))).toMatchObject({
      code: "ERR_CAPACITY",
    });
    expect(thrown(() => tx.protectRtcp(buf.subarray(0, len + SRTCP_MAX_TRAILER_LEN - 1), len))).toMatchObject({
      code: "ERR_CAPACITY",
    });
    expect(tx.protect(buf.subarray(0, len + SRTP_MAX_TRAILER_LEN), len)).toBe(len + 10);
    expect(thrown(() => tx.protect(buf, buf.length + 1))).toMatchObject({ code: "ERR_INVALID_ARG" });
    expect(thrown(() => tx.protect(new Uint16Array(100) as unknown as Uint8Array, 12))).toMatchObject({
      code: "ERR_INVALID_ARG",
    });
    expect(thrown(() => session("outbound", { windowSize: 10 }))).toMatchObject({
      code: "srtp_err_status_bad_param",
    });
    tx.close();
    tx.close(); // idempotent
    expect(thrown(() => tx.protect(buf, len))).toMatchObject({ code: "ERR_CLOSED" });
    expect(thrown(() => tx.getRoc(SSRC))).toMatchObject({ code: "ERR_CLOSED" });
  });
});
