/**
 * What SrtpContext and IndexedBatchCrypto (a crypto worker's half of the batch path) share: the resolved
 * options, the core and its packet arena, the master keys (RFC 3711 §8.1: several, told apart by MKI) and
 * the lifetime — every key zeroed in the core at close, and a context dropped without close() zeroed when
 * it is collected.
 */
import type { CryptoCore } from "../wasm/core.js";
import { SrtpError } from "./errors.js";
import { MasterKeyTable } from "./key-table.js";
import { resolveOptions, type MasterKeyInit, type ResolvedOptions, type SrtpContextOptions } from "./options.js";
import { PacketArena } from "./packet-arena.js";

const forgotten = new FinalizationRegistry<MasterKeyTable>((keys) => keys.close());

export abstract class KeyedTransform {
  protected readonly opts: ResolvedOptions;
  protected readonly arena: PacketArena;
  protected readonly keys: MasterKeyTable;
  private closed = false;

  protected constructor(options: SrtpContextOptions, protected readonly core: CryptoCore) {
    this.opts = resolveOptions(options);
    this.arena = new PacketArena(core);
    this.keys = new MasterKeyTable(core, this.opts);
    for (const init of options.keys) this.keys.add(init);
    this.keys.send = this.keys.all[0]!;
    forgotten.register(this, this.keys, this);
  }

  /** Bytes `protect` appends to an RTP packet (MKI + tag). */
  get trailerLength(): number {
    return this.opts.mkiLength + this.opts.profile.srtpTagLength;
  }

  /** Installs another master key (MKI mode). Packets under it decrypt at once; `setSendKey` sends with it. */
  addKey(init: MasterKeyInit): void {
    this.checkOpen();
    this.keys.add(init);
  }

  /**
   * Removes (and zeroes) the key with this MKI. Removing the send key leaves no send key: protecting then
   * fails with ERR_UNKNOWN_MKI until `setSendKey` (a receiver never needs one).
   */
  removeKey(mki: Uint8Array): void {
    this.checkOpen();
    this.keys.remove(mki);
  }

  /** Selects the master key `protect` uses from now on. */
  setSendKey(mki: Uint8Array): void {
    this.checkOpen();
    this.keys.selectSend(mki);
  }

  /** Zeroes every key in the core and the arena, and frees the key slots. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    forgotten.unregister(this);
    this.keys.close();
    this.arena.wipe();
    this.core.wipeScratch();
  }

  protected checkOpen(): void {
    if (this.closed) throw new SrtpError("ERR_CLOSED", "the context is closed");
  }
}
