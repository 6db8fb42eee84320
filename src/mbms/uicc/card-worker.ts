/**
 * Node glue for the card: the worker entry (run inside a `worker_threads` Worker) and `spawnCardWorker`,
 * which starts one and returns a UiccProxy over it. The card logic (SoftCard) and the message protocol
 * (card-protocol.ts) are browser-safe; only this file touches worker_threads.
 *
 * The KEK goes in once, through workerData, in an ArrayBuffer on the transfer list: after the Worker is
 * constructed the ME's copy is detached, like a key written to a card at manufacture.
 *
 * In browsers the same card runs in a module Web Worker: card-web-worker.ts and web-card.ts.
 */
import { Worker, isMainThread, parentPort, workerData, type WorkerOptions } from "node:worker_threads";
import { loadCore } from "../../wasm/load.js";
import { copyBytes } from "./apdu.js";
import { handleCardRequest, isCardResponse, type CardProvisioning, type CardRequest, type CardResponse } from "./card-protocol.js";
import { UiccError } from "./errors.js";
import { SoftCard, type SoftCardOptions } from "./soft-card.js";
import { UiccProxy, type CardChannel, type UiccProxyOptions } from "./uicc-proxy.js";

// ---- worker side ---------------------------------------------------------------------------------------

const provisioning = workerData as CardProvisioning | undefined;
if (!isMainThread && parentPort && provisioning?.mbmsUiccCard === 1) {
  const port = parentPort;
  const kek = new Uint8Array(provisioning.kek);
  const card = new SoftCard(kek, { ...provisioning.options, core: loadCore() });
  kek.fill(0);
  port.on("message", (message: unknown) => {
    const response = handleCardRequest(card, message);
    if (response) port.postMessage(response, [response.apdu]);
  });
  port.on("close", () => card.close());
}

// ---- ME side -------------------------------------------------------------------------------------------

export interface CardWorkerOptions extends Omit<SoftCardOptions, "core"> {
  /** The worker script (default: card-worker.js next to this module, i.e. in dist/). */
  workerUrl?: URL | string;
  /** Extra Worker options (resourceLimits, …); workerData and transferList are set here. */
  worker?: Omit<WorkerOptions, "workerData" | "transferList">;
}

/** A CardChannel over a Node Worker. */
export function nodeWorkerChannel(worker: Worker): CardChannel {
  return {
    post(request: CardRequest) {
      worker.postMessage(request, [request.apdu]);
    },
    listen(onResponse: (r: CardResponse) => void, onFault: (e: Error) => void) {
      worker.on("message", (m: unknown) => {
        if (isCardResponse(m)) onResponse(m);
      });
      worker.on("error", (e) => onFault(new UiccError("ERR_CARD_FAULT", `the card worker failed: ${e.message}`)));
      worker.on("exit", (code) => onFault(new UiccError("ERR_CARD_FAULT", `the card worker exited (code ${code})`)));
    },
    async terminate() {
      await worker.terminate();
    },
  };
}

/** Starts a card worker provisioned with `kek` (copied and transferred; the caller's array is untouched). */
export function startCardWorker(kek: Uint8Array, options: CardWorkerOptions = {}): Worker {
  if (!(kek instanceof Uint8Array) || kek.length < 16 || kek.length > 64) throw new UiccError("ERR_ARGUMENT", "the KEK is 16..64 bytes");
  const { workerUrl, worker: workerOptions, ...cardOptions } = options;
  const buffer = copyBytes(kek).buffer as ArrayBuffer;
  const data: CardProvisioning = { mbmsUiccCard: 1, kek: buffer, options: cardOptions };
  const worker = new Worker(workerUrl ?? new URL("./card-worker.js", import.meta.url), {
    ...workerOptions, workerData: data, transferList: [buffer],
  });
  return worker;
}

/** Starts a card worker and returns the ME-side proxy over it. `close()` terminates the worker. */
export function spawnCardWorker(kek: Uint8Array, options: CardWorkerOptions & { proxy?: UiccProxyOptions } = {}): UiccProxy {
  const { proxy, ...rest } = options;
  return new UiccProxy(nodeWorkerChannel(startCardWorker(kek, rest)), proxy);
}
