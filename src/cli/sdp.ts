/**
 * The SDP a player opens to receive the protected stream (RFC 4566, RFC 4568): the encoder's SDP (e.g.
 * ffmpeg's -sdp_file) with the connection address and media port set to where `send` sends, the transport
 * RTP/SAVP and one a=crypto line carrying the key. It holds the key, so it is written only to a file of
 * mode 0600, never to stdout or an error message.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isMulticast } from "./address.js";
import { UsageError } from "./usage-error.js";
import { cryptoAttribute, type SrtpKey } from "./srtp-key.js";

/** `sdp` (one media section) for SRTP to `dest`: c= and m= rewritten, a=crypto added at the end of the media section. */
export function protectedSdp(sdp: string, dest: { host: string; port: number }, key: SrtpKey, multicastTtl: number): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(/\r?\n/).filter((l) => l !== "" && !l.startsWith("a=crypto:"));
  const media = lines.filter((l) => l.startsWith("m="));
  if (media.length !== 1) throw new UsageError(`--sdp-in: expected one media section (m= line), got ${media.length}`);
  // An IPv4 multicast connection address carries its TTL (RFC 4566 §5.7).
  const c = `c=IN IP4 ${dest.host}${isMulticast(dest.host) ? `/${multicastTtl}` : ""}`;
  const out = lines.map((l) => {
    if (l.startsWith("c=")) return c;
    const m = /^m=(\S+) \d+(?:\/\d+)? RTP\/S?AVP(F?) (.*)$/.exec(l);
    if (l.startsWith("m=") && !m) throw new UsageError("--sdp-in: the media section is not RTP/AVP");
    return m ? `m=${m[1]} ${dest.port} RTP/SAVP${m[2]} ${m[3]}` : l;
  });
  if (!out.some((l) => l.startsWith("c="))) throw new UsageError("--sdp-in: no connection line (c=)");
  out.push(cryptoAttribute(key));
  return out.join(eol) + eol;
}

/**
 * Writes `inPath`'s SDP, protected for `dest`, to `outPath` with mode 0600: through a new file (O_EXCL, so
 * no symlink is followed and no earlier reader holds it open) renamed over `outPath` once written.
 */
export function writeProtectedSdp(inPath: string, outPath: string, dest: { host: string; port: number }, key: SrtpKey, multicastTtl: number): void {
  let sdp: string;
  try {
    sdp = readFileSync(inPath, "utf8");
  } catch (e) {
    throw new UsageError(`--sdp-in: ${(e as Error).message}`);
  }
  const text = protectedSdp(sdp, dest, key, multicastTtl);
  const tmp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, outPath);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UsageError(`--sdp-out: ${(e as Error).message}`);
  }
}
