/**
 * The Decryptor for one fixed master key without MKI (`receive --srtp-key-file`, e.g. ffmpeg's
 * -srtp_out_suite stream): one SrtpContext for every SSRC, each with its own ROC (estimated per RFC 3711
 * Appendix A) and replay window. RTCP on the same port (payload type 200..204, RFC 5761 §4) is refused and
 * counted, not decrypted: ffmpeg sends its SRTCP to the next port anyway.
 */
import { SrtpStatus, type SrtpContext } from "../srtp/index.js";
import type { Decryptor, DecryptorStats } from "./decryptor.js";
import { fixedKeyContext, type SrtpKey } from "./srtp-key.js";

export class FixedKeyDecryptor implements Decryptor {
  private readonly ctx: SrtpContext;
  private readonly s = { authFailed: 0, replayed: 0, refused: 0 };

  /** Installs `key` and zeroes the caller's copy. */
  constructor(key: SrtpKey, private readonly onPacket: (rtp: Uint8Array) => void) {
    this.ctx = fixedKeyContext(key);
  }

  receive(buf: Uint8Array, len: number): void {
    if (len >= 2 && buf[1]! >= 200 && buf[1]! <= 204) {
      this.s.refused++;
      return;
    }
    const r = this.ctx.tryUnprotect(buf, len);
    if (r >= 0) this.onPacket(buf.subarray(0, r));
    else if (r === -SrtpStatus.AuthFailed) this.s.authFailed++;
    else if (r === -SrtpStatus.Replayed || r === -SrtpStatus.TooOld) this.s.replayed++;
    else this.s.refused++;
  }

  get stats(): DecryptorStats {
    return { ...this.s, queuedDropped: 0, switches: 0, currentMki: undefined };
  }

  async settled(): Promise<void> {}

  close(): void {
    this.ctx.close();
  }
}
