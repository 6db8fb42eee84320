/**
 * A crypto worker of SrtpCryptoPool (crypto-pool.ts), run inside a `worker_threads` Worker: its own WASM
 * core and IndexedBatchCrypto, keyed once from workerData (whose key bytes it zeroes at once), then a
 * loop over its BatchRing: wait (Atomics.wait) for the next slot in ring order, run its op, mark it DONE
 * and notify. No message per batch. The Close op zeroes the keys in the core and the whole ring, then
 * the loop ends and the thread exits.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { MbmsSrtpError } from "../errors.js";
import { IndexedBatchCrypto } from "../srtp/indexed-batch.js";
import type { SrtpContextOptions } from "../srtp/options.js";
import { loadCore } from "../wasm/load.js";
import {
  BatchRing, CTL_ARG0, CTL_ARG1, CTL_ARG2, CTL_ERROR, CTL_OP, CTL_RESULT, DONE, OP_ADD_KEY, OP_CLOSE, OP_PROTECT,
  OP_REMOVE_KEY, OP_SET_SEND_KEY, OP_UNPROTECT, WORK, type RingShape, type RingSlot,
} from "./batch-ring.js";

/** What the pool hands a worker at start. */
export interface CryptoWorkerData {
  mbmsSrtpCryptoWorker: 1;
  sab: SharedArrayBuffer;
  shape: RingShape;
  context: SrtpContextOptions;
}

/** Runs one slot's op (a batch's packet count is arg0); key bytes a key op brought in the slot are zeroed once the core holds them. */
function run(crypto: IndexedBatchCrypto, slot: RingSlot): void {
  const { ctl, batch, indices } = slot;
  const data = batch.buffer;
  const a0 = ctl[CTL_ARG0]!, a1 = ctl[CTL_ARG1]!, a2 = ctl[CTL_ARG2]!;
  batch.count = a0;
  switch (ctl[CTL_OP]) {
    case OP_PROTECT:
      ctl[CTL_RESULT] = crypto.protectAt(batch, indices);
      return;
    case OP_UNPROTECT:
      ctl[CTL_RESULT] = crypto.verifyDecryptAt(batch, indices, slot.nextRoc);
      return;
    case OP_ADD_KEY: {
      const key = data.slice(0, a0), salt = data.slice(a0, a0 + a1), mki = a2 > 0 ? data.slice(a0 + a1, a0 + a1 + a2) : undefined;
      data.fill(0, 0, a0 + a1 + a2);
      try {
        crypto.addKey({ key, salt, mki });
      } finally {
        key.fill(0);
        salt.fill(0);
      }
      return;
    }
    case OP_REMOVE_KEY:
      crypto.removeKey(data.slice(0, a0));
      return;
    case OP_SET_SEND_KEY:
      crypto.setSendKey(data.slice(0, a0));
      return;
    default:
      throw new MbmsSrtpError("ERR_ARGUMENT", `unknown ring op ${ctl[CTL_OP]}`);
  }
}

/** An op's failure goes back in the slot: the error's stable code as ASCII in the data, its length in ctl. */
function report(slot: RingSlot, e: unknown): void {
  const code = e instanceof MbmsSrtpError ? e.code : "ERR_WORKER";
  const n = Math.min(code.length, 64);
  for (let i = 0; i < n; i++) slot.batch.buffer[i] = code.charCodeAt(i);
  slot.ctl[CTL_ERROR] = n;
}

function serve(data: CryptoWorkerData): void {
  const ring = new BatchRing(data.sab, data.shape);
  const crypto = new IndexedBatchCrypto(data.context, loadCore());
  for (const k of data.context.keys) {
    k.key.fill(0);
    k.salt.fill(0);
  }
  if (data.shape.slotBytes > crypto.maxSpan) {
    crypto.close();
    throw new MbmsSrtpError("ERR_CONFIG", `slotBytes is at most ${crypto.maxSpan} (the core's packet arena)`);
  }
  parentPort!.postMessage({ ready: true });
  const { state } = ring;
  for (let s = 0; ; s = (s + 1) % ring.slots.length) {
    for (let v = Atomics.load(state, s); v !== WORK; v = Atomics.load(state, s)) Atomics.wait(state, s, v);
    const slot = ring.slots[s]!;
    if (slot.ctl[CTL_OP] === OP_CLOSE) {
      crypto.close();
      ring.wipe();
      Atomics.store(state, s, DONE);
      Atomics.notify(state, s);
      return;
    }
    slot.ctl[CTL_ERROR] = 0;
    try {
      run(crypto, slot);
    } catch (e) {
      report(slot, e);
    }
    Atomics.store(state, s, DONE);
    Atomics.notify(state, s);
  }
}

const started = workerData as CryptoWorkerData | undefined;
if (!isMainThread && parentPort && started?.mbmsSrtpCryptoWorker === 1) serve(started);
