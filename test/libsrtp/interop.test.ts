// Byte-for-byte interop with libsrtp (Debian's libsrtp2 through native/libsrtp), in both directions:
// random headers, CSRCs, extensions, payloads 0..1400, every profile, MKI on and off with several keys
// and switching, reordering inside the window, sequence wrap with loss, late join with setRoc, SRTCP.
// Fails (never skips) when the addon is missing: `npm run build:libsrtp` needs libsrtp2-dev.
import { randomBytes, randomInt } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { loadCore, SrtpContext, SRTP_PROFILES, type SrtpProfileName } from "../../src/index.js";
import { randomRtpShape, rtcpPacket, rtpPacket } from "../helpers/rtp.js";

const lib = await import("../../native/libsrtp/index.js").catch((cause) => {
  throw new Error("libsrtp addon not loadable: run `npm run build:libsrtp` (apt-get install libsrtp2-dev)", { cause });
});
type Session = InstanceType<typeof lib.Session>;

const ROOM = lib.SRTCP_MAX_TRAILER_LEN;
const PROFILES = Object.keys(SRTP_PROFILES) as SrtpProfileName[];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const room = (p: Uint8Array) => {
  const b = new Uint8Array(p.length + ROOM);
  b.set(p);
  return b;
};

interface Key { key: Buffer; salt: Buffer; mki?: Buffer }
const newKeys = (profile: SrtpProfileName, n: number, mkiLength: number): Key[] =>
  Array.from({ length: n }, () => ({
    key: randomBytes(SRTP_PROFILES[profile].keyLength),
    salt: randomBytes(14),
    mki: mkiLength ? randomBytes(mkiLength) : undefined,
  }));

const sessions: Session[] = [];
const contexts: SrtpContext[] = [];
afterEach(() => {
  sessions.splice(0).forEach((s) => s.close());
  contexts.splice(0).forEach((c) => c.close());
});

const core = loadCore();
function ours(profile: SrtpProfileName, keys: Key[]): SrtpContext {
  const ctx = new SrtpContext({ profile, keys }, core);
  contexts.push(ctx);
  return ctx;
}
function theirs(profile: SrtpProfileName, keys: Key[], direction: "inbound" | "outbound", ssrc?: number): Session {
  const s = new lib.Session({
    profile, direction, ssrc, windowSize: 128,
    keys: keys.map((k) => ({ key: Buffer.concat([k.key, k.salt]), mki: k.mki })),
  });
  sessions.push(s);
  return s;
}

describe.each(PROFILES)("%s", (profile) => {
  it.each([0, 4, 12])("RTP both ways, random packets, MKI length %i with key switching", (mkiLength) => {
    const keys = newKeys(profile, mkiLength ? 3 : 1, mkiLength);
    const ssrc = randomInt(0, 2 ** 32);
    const [ourTx, ourRx] = [ours(profile, keys), ours(profile, keys)];
    const [libTx, libRx] = [theirs(profile, keys, "outbound"), theirs(profile, keys, "inbound")];
    let seq = randomInt(0, 65536);
    for (let i = 0; i < 300; i++, seq = (seq + 1) & 0xffff) {
      const k = mkiLength ? Math.floor(i / 100) : 0; // switch the send key every 100 packets
      if (mkiLength) ourTx.setSendKey(keys[k]!.mki!);
      const plain = rtpPacket(randomRtpShape(seq, ssrc));
      const a = room(plain), b = room(plain);
      const na = ourTx.protect(a, plain.length);
      const nb = libTx.protect(b, plain.length, k);
      expect(hex(a.subarray(0, na)), `packet ${i}`).toBe(hex(b.subarray(0, nb)));
      // ours → libsrtp, libsrtp → ours
      expect(libRx.unprotect(a, na)).toBe(plain.length);
      expect(hex(a.subarray(0, plain.length))).toBe(hex(plain));
      expect(ourRx.unprotect(b, nb)).toBe(plain.length);
      expect(hex(b.subarray(0, plain.length))).toBe(hex(plain));
    }
  });

  // libsrtp 2.5 cannot unprotect its own SRTCP packets when an MKI is used with a _32 profile (it looks
  // for the MKI as if the SRTCP tag were 4 bytes; the SRTCP tag stays 10, RFC 3711 §5.2): there the check
  // is that libsrtp refuses its own packet too, while ours produces the same bytes and reads both.
  it.each([0, 4])("SRTCP both ways, MKI length %i (libsrtp numbers from 1, so our sender starts there too)", (mkiLength) => {
    const libReadsMkiRtcp = !(mkiLength > 0 && SRTP_PROFILES[profile].srtpTagLength === 4);
    const keys = newKeys(profile, 1, mkiLength);
    const ssrc = randomInt(0, 2 ** 32);
    const ourTx = ours(profile, keys), ourRx = ours(profile, keys);
    const libTx = theirs(profile, keys, "outbound"), libRx = theirs(profile, keys, "inbound");
    ourTx.setRtcpIndex(ssrc, 1);
    for (let i = 0; i < 50; i++) {
      const plain = rtcpPacket(ssrc, randomInt(0, 40));
      const a = room(plain), b = room(plain);
      const na = ourTx.protectRtcp(a, plain.length), nb = libTx.protectRtcp(b, plain.length);
      expect(hex(a.subarray(0, na))).toBe(hex(b.subarray(0, nb)));
      if (libReadsMkiRtcp) expect(libRx.unprotectRtcp(a, na)).toBe(plain.length);
      else expect(() => libRx.unprotectRtcp(b.slice(), nb)).toThrow(expect.objectContaining({ code: "srtp_err_status_bad_mki" }));
      expect(ourRx.unprotectRtcp(b, nb)).toBe(plain.length);
      expect(hex(b.subarray(0, plain.length))).toBe(hex(plain));
    }
  });
});

describe("stream behaviour against libsrtp", () => {
  const profile = "AES_CM_128_HMAC_SHA1_80";

  it("reordering inside the window and a sequence wrap with loss: libsrtp's packets, our receiver", () => {
    const keys = newKeys(profile, 1, 0);
    const libTx = theirs(profile, keys, "outbound");
    const ourRx = ours(profile, keys);
    const seqs = Array.from({ length: 400 }, (_, i) => (65300 + i) & 0xffff).filter(() => randomInt(0, 5) > 0);
    const sealed = seqs.map((seq) => {
      const b = room(rtpPacket({ seq, ssrc: 99, payload: 100 }));
      return b.subarray(0, libTx.protect(b, 112));
    });
    // Swap neighbours in windows of 8 (reordering well inside the 128-packet window).
    for (let i = 0; i + 8 <= sealed.length; i += 8) sealed.splice(i, 8, ...sealed.slice(i, i + 8).reverse());
    for (const s of sealed) expect(ourRx.unprotect(Buffer.from(s))).toBe(112);
    expect(ourRx.getRoc(99)).toBe(1);
  });

  it("late join: libsrtp sender at ROC 7, our receiver told the ROC decrypts from its first packet", () => {
    const keys = newKeys(profile, 1, 0);
    const ssrc = 0x1234;
    const libTx = theirs(profile, keys, "outbound", ssrc);
    libTx.setRoc(ssrc, 7);
    const ourRx = ours(profile, keys);
    ourRx.setRoc(ssrc, 7);
    for (let seq = 500; seq < 520; seq++) {
      const plain = rtpPacket({ seq, ssrc, payload: 64 });
      const b = room(plain);
      expect(ourRx.unprotect(b, libTx.protect(b, plain.length))).toBe(plain.length);
    }
    expect(ourRx.getIndex(ssrc)).toBe(7 * 65536 + 519);
  });

  it("late join the other way: our sender at ROC 3, libsrtp receiver set to ROC 3", () => {
    const keys = newKeys(profile, 1, 0);
    const ssrc = 0x4321;
    const ourTx = ours(profile, keys);
    ourTx.setRoc(ssrc, 3, { send: true });
    const libRx = theirs(profile, keys, "inbound", ssrc);
    libRx.setRoc(ssrc, 3);
    for (let seq = 10; seq < 30; seq++) {
      const plain = rtpPacket({ seq, ssrc, payload: 64 });
      const b = room(plain);
      expect(libRx.unprotect(b, ourTx.protect(b, plain.length))).toBe(plain.length);
    }
  });
});
