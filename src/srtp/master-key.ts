import type { CryptoCore } from "../wasm/core.js";
import type { SrtpProfile } from "./profiles.js";

/** KDF label bases (RFC 3711 §4.3.1): +0 encryption key, +1 authentication key, +2 salt. */
export const SRTP_LABELS = 0;
export const SRTCP_LABELS = 3;

/**
 * The session keys of one direction of one master key, as core slots. With key_derivation_rate ≠ 0 they
 * are re-derived whenever r = index DIV kdr changes (RFC 3711 §4.3.1).
 */
export class SessionKeys {
  /** The r they were derived for, -1 before the first derivation. */
  r = -1;
  constructor(
    readonly labelBase: number,
    readonly aesSlot: number,
    readonly hmacSlot: number,
    readonly saltSlot: number,
  ) {}
}

/**
 * A master key and salt installed in a core: the master key expanded once in an AES slot (it keys the
 * AES-CM PRF), the salt in a salt slot, and the derived SRTP and SRTCP session keys. The raw key bytes are
 * not kept in JavaScript.
 */
export class MasterKey {
  readonly rtp: SessionKeys;
  readonly rtcp: SessionKeys;
  /** Packets protected under this key, for the 2^48 / 2^31 limits (RFC 3711 §9.2). */
  rtpPackets = 0;
  rtcpPackets = 0;
  private readonly masterSlot: number;
  private readonly masterSaltSlot: number;
  private closed = false;

  constructor(
    private readonly core: CryptoCore,
    private readonly profile: SrtpProfile,
    key: Uint8Array,
    salt: Uint8Array,
    readonly mki: Uint8Array | null,
    private readonly kdr: number,
  ) {
    const aes = core.aesPool, hmac = core.hmacPool, salts = core.saltPool;
    this.masterSlot = aes.acquire();
    this.masterSaltSlot = salts.acquire();
    core.setAesKey(this.masterSlot, key);
    core.setSalt(this.masterSaltSlot, salt);
    this.rtp = new SessionKeys(SRTP_LABELS, aes.acquire(), hmac.acquire(), salts.acquire());
    this.rtcp = new SessionKeys(SRTCP_LABELS, aes.acquire(), hmac.acquire(), salts.acquire());
    this.derive(this.rtp, 0);
    this.derive(this.rtcp, 0);
  }

  /** Makes sure `keys` hold the session keys for packet `index`; a no-op unless kdr ≠ 0 and r changed. */
  keysFor(keys: SessionKeys, index: number): SessionKeys {
    if (this.kdr !== 0) {
      const r = Math.floor(index / this.kdr);
      if (r !== keys.r) this.derive(keys, r);
    }
    return keys;
  }

  /** True when `buf[at .. at+mki.length)` is this key's MKI. */
  matches(buf: Uint8Array, at: number): boolean {
    const mki = this.mki!;
    for (let i = 0; i < mki.length; i++) if (buf[at + i] !== mki[i]) return false;
    return true;
  }

  /** Zeroes every slot this key used and returns them to the core. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { core } = this;
    for (const slot of [this.masterSlot, this.rtp.aesSlot, this.rtcp.aesSlot]) {
      core.wipeAesKey(slot);
      core.aesPool.release(slot);
    }
    for (const slot of [this.rtp.hmacSlot, this.rtcp.hmacSlot]) {
      core.wipeHmacKey(slot);
      core.hmacPool.release(slot);
    }
    for (const slot of [this.masterSaltSlot, this.rtp.saltSlot, this.rtcp.saltSlot]) {
      core.wipeSalt(slot);
      core.saltPool.release(slot);
    }
  }

  private derive(keys: SessionKeys, r: number): void {
    this.core.deriveSrtpSessionKeys(
      this.masterSlot, this.masterSaltSlot, keys.labelBase, r, this.profile.keyLength,
      keys.aesSlot, keys.hmacSlot, keys.saltSlot,
    );
    keys.r = r;
  }
}
