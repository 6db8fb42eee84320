// test/vectors/srtp.json: the SRTP KDF (RFC 3711 B.3, RFC 6188, libsrtp#454) on the core, and libsrtp's
// known-answer packets (srtp_validate, srtp_validate_mki) through SrtpContext, both ways.
import { hex, unhex } from "./hex.js";
import type { CryptoCore, MasterKeyInit, SrtpProfileName, VectorLibrary } from "./library.js";
import type { PublishedVectors } from "./published.js";
import { check, type VectorResult } from "./result.js";

type Srtp = PublishedVectors["srtp"];

export function srtpKdfVectors(core: CryptoCore, vectors: Srtp["kdf"]): VectorResult[] {
  return vectors.map((v) => check("srtp-kdf", v.name, v.labels, () => {
    core.setAesKey(0, unhex(v.masterKey));
    core.setSalt(0, unhex(v.masterSalt));
    const labels: Record<string, string> = {};
    for (const [label, want] of Object.entries(v.labels)) labels[label] = hex(core.srtpKdf(0, 0, Number(label), v.r, want.length / 2));
    return labels;
  }));
}

/** The packet in a buffer with room for the tag and MKI that protect adds. */
const withRoom = (packet: Uint8Array) => {
  const buf = new Uint8Array(packet.length + 64);
  buf.set(packet);
  return buf;
};

export function srtpPacketVectors(lib: VectorLibrary, core: CryptoCore, v: Srtp["packets"]): VectorResult[] {
  const suite = "srtp-packets";
  const key1 = { key: unhex(v.masterKey), salt: unhex(v.masterSalt) };
  const withMki = { ...key1, mki: unhex(v.mki) };
  const second = { key: unhex(v.secondKey.masterKey), salt: unhex(v.secondKey.masterSalt), mki: unhex(v.secondKey.mki) };
  /** `f` on a fresh context of these keys, closed afterwards. */
  const withContext = <T>(keys: MasterKeyInit[], f: (ctx: InstanceType<VectorLibrary["SrtpContext"]>) => T): T => {
    const ctx = new lib.SrtpContext({ profile: v.policy as SrtpProfileName, keys }, core);
    try {
      return f(ctx);
    } finally {
      ctx.close();
    }
  };
  const protect = (keys: MasterKeyInit[]) => withContext(keys, (tx) => {
    const buf = withRoom(unhex(v.rtp));
    return hex(buf.subarray(0, tx.protect(buf, v.rtp.length / 2)));
  });
  const unprotect = (keys: MasterKeyInit[], srtp: string) => withContext(keys, (rx) => {
    const buf = unhex(srtp);
    return hex(buf.subarray(0, rx.unprotect(buf)));
  });
  return [
    check(suite, "srtp_validate: protect, no MKI", v.srtp, () => protect([key1])),
    check(suite, "srtp_validate: unprotect, no MKI", v.rtp, () => unprotect([key1], v.srtp)),
    check(suite, "srtp_validate_mki: protect, 4-byte MKI", v.srtpWithMki, () => protect([withMki])),
    check(suite, "srtp_validate_mki: unprotect, its key picked by MKI among two", v.rtp, () => unprotect([second, withMki], v.srtpWithMki)),
    check(suite, `srtp_validate_mki: SRTCP protect, index ${v.srtcpIndex}`, v.srtcpWithMki, () => withContext([withMki], (tx) => {
      tx.setRtcpIndex(0xcafebabe, v.srtcpIndex);
      const buf = withRoom(unhex(v.rtcp));
      return hex(buf.subarray(0, tx.protectRtcp(buf, v.rtcp.length / 2)));
    })),
    check(suite, "srtp_validate_mki: SRTCP unprotect, its key picked by MKI among two", v.rtcp, () => withContext([second, withMki], (rx) => {
      const buf = unhex(v.srtcpWithMki);
      return hex(buf.subarray(0, rx.unprotectRtcp(buf)));
    })),
  ];
}
