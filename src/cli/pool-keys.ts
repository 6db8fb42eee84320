/**
 * The CLI sender's crypto worker pool (`send --crypto-workers N`), keyed as the MbmsSender's context is:
 * the MbmsSender tells each key change (SendKeyMirror); the pool starts with the first key, and the later
 * changes wait here (copies; zeroed once handed on) until the Sender is at a batch boundary with nothing
 * in flight: then they go to every worker, so they apply to the batches submitted after them and to none
 * before — the send-key switch takes effect between two batches, as it does in the in-thread context.
 */
import type { SendKeyMirror } from "../mbms/bmsc/index.js";
import type { MasterKeyInit } from "../srtp/options.js";
import type { SrtpProfileName } from "../srtp/profiles.js";
import { SrtpError } from "../srtp/errors.js";
import { SrtpCryptoPool } from "../workers/crypto-pool.js";

/** Batch slots per worker: also the most key changes applied at one boundary. */
const POOL_SLOTS = 4;

type KeyOp = { op: "add"; init: MasterKeyInit } | { op: "send" | "remove"; mki: Uint8Array };

export class PoolKeys implements SendKeyMirror {
  private pool: SrtpCryptoPool | undefined;
  private starting: Promise<void> | undefined;
  private readonly ops: KeyOp[] = [];
  /** A failure of the pool (start, a key change): the sender stops on it. */
  failure: unknown;

  /** `maxPackets`, `slotBytes`: the Sender's batches (count, and bytes with the SRTP trailers). */
  constructor(private readonly workers: number, private readonly maxPackets: number, private readonly slotBytes: number) {}

  /** The pool, once it has started and no key change is waiting; undefined before. */
  get ready(): SrtpCryptoPool | undefined {
    return this.ops.length === 0 ? this.pool : undefined;
  }

  /** The pool's streams with their ROCs (MbmsSender's `streams`); none before it started. */
  readonly streams = (): { ssrc: number; roc: number }[] => this.pool?.sendStreams() ?? [];

  added(init: MasterKeyInit, profile: SrtpProfileName): void {
    const copy = { key: init.key.slice(), salt: init.salt.slice(), mki: init.mki?.slice() };
    if (this.starting) {
      this.ops.push({ op: "add", init: copy });
      return;
    }
    this.starting = SrtpCryptoPool.start({ direction: "protect", workers: this.workers, context: { profile, keys: [copy] }, slots: POOL_SLOTS, maxPackets: this.maxPackets, slotBytes: this.slotBytes })
      .then((pool) => {
        this.pool = pool;
      }, (e: unknown) => {
        this.failure = e;
      })
      .finally(() => wipe(copy));
  }

  sendKey(mki: Uint8Array): void {
    this.ops.push({ op: "send", mki: mki.slice() });
  }

  removed(mki: Uint8Array): void {
    this.ops.push({ op: "remove", mki: mki.slice() });
  }

  /**
   * At a batch boundary: hands the waiting key changes to the workers if the sender is `quiet` — no batch
   * in flight nor waiting to be sent, whose slot a key change would overwrite (at most POOL_SLOTS of them:
   * the rest at a later boundary). True once none waits.
   */
  applyAtBoundary(quiet: boolean): boolean {
    const pool = this.pool;
    if (!pool || !quiet || pool.pending > 0) return this.ops.length === 0 && pool !== undefined;
    for (const o of this.ops.splice(0, POOL_SLOTS)) {
      const done = o.op === "add" ? pool.addKey(o.init) : o.op === "send" ? pool.setSendKey(o.mki) : pool.removeKey(o.mki);
      if (o.op === "add") wipe(o.init); // copied into the rings already
      done.catch((e: unknown) => (this.failure ??= e));
    }
    return this.ops.length === 0;
  }

  /** Drains the pool, has its workers zero their keys, and zeroes the key changes still waiting. */
  async close(): Promise<void> {
    for (const o of this.ops.splice(0)) if (o.op === "add") wipe(o.init);
    await this.starting;
    await this.pool?.close();
  }

  /** The failure as the sender's typed error. */
  static asError(e: unknown): SrtpError {
    return e instanceof SrtpError ? e : new SrtpError("ERR_WORKER", `the crypto pool failed: ${String(e)}`);
  }
}

function wipe(init: MasterKeyInit): void {
  init.key.fill(0);
  init.salt.fill(0);
}
