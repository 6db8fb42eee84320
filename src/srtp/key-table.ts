/**
 * A context's master keys, selected by MKI (RFC 3711 §3.2.1: the MKI names the master key of a packet;
 * without MKIs a context has one key). One of them is the send key. Keys are zeroed and their core slots
 * freed when removed or when the table is closed.
 */
import type { CryptoCore } from "../wasm/core.js";
import { SrtpError, SrtpStatus } from "./errors.js";
import { MasterKey } from "./master-key.js";
import { checkKey, type MasterKeyInit, type ResolvedOptions } from "./options.js";

export class MasterKeyTable {
  /** Every key, in the order added. */
  readonly all: MasterKey[] = [];
  /** The key `protect` uses; undefined once it has been removed and until another is selected. */
  send: MasterKey | undefined;

  constructor(private readonly core: CryptoCore, private readonly opts: ResolvedOptions) {}

  add(init: MasterKeyInit): void {
    checkKey(init, this.opts);
    if (init.mki && this.find(init.mki, 0)) throw new SrtpError("ERR_CONFIG", "a key with this MKI exists");
    const { opts } = this;
    this.all.push(new MasterKey(this.core, opts.profile, init.key, init.salt, init.mki?.slice() ?? null, opts.kdr));
  }

  /** Removes and zeroes the key with this MKI (ERR_UNKNOWN_MKI if none); the send key too. */
  remove(mki: Uint8Array): void {
    const key = this.require(mki);
    if (key === this.send) this.send = undefined;
    this.all.splice(this.all.indexOf(key), 1);
    key.close();
  }

  selectSend(mki: Uint8Array): void {
    this.send = this.require(mki);
  }

  has(mki: Uint8Array): boolean {
    return this.all.some((k) => k.mki !== null && k.mki.length === mki.length && k.matches(mki, 0));
  }

  /** The key named by the packet's MKI (which sits at `mkiAt`), or the only key without MKIs. */
  forPacket(buf: Uint8Array, mkiAt: number): MasterKey | undefined {
    return this.opts.mkiLength === 0 ? this.all[0] : this.find(buf, mkiAt);
  }

  close(): void {
    for (const key of this.all) key.close();
    this.all.length = 0;
    this.send = undefined;
  }

  private find(buf: Uint8Array, at: number): MasterKey | undefined {
    for (const key of this.all) if (key.matches(buf, at)) return key;
    return undefined;
  }

  private require(mki: Uint8Array): MasterKey {
    const key = mki.length === this.opts.mkiLength ? this.find(mki, 0) : undefined;
    if (!key) throw new SrtpError("ERR_UNKNOWN_MKI", "no master key has this MKI", SrtpStatus.UnknownMki);
    return key;
  }
}
