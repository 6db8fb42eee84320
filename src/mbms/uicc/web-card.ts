/**
 * Page side of the browser card (card-web-worker.ts): start a module Web Worker provisioned with the
 * user's KEK and get a UiccProxy over it. Browser-only (uses Worker), no Node APIs.
 */
import { copyBytes } from "./apdu.js";
import { isCardResponse, type CardProvisioning, type CardRequest } from "./card-protocol.js";
import { UiccError } from "./errors.js";
import type { SoftCardOptions } from "./soft-card.js";
import { UiccProxy, type CardChannel, type UiccProxyOptions } from "./uicc-proxy.js";

/** A CardChannel over a Web Worker. */
export function webWorkerChannel(worker: Worker): CardChannel {
  return {
    post(request: CardRequest) {
      worker.postMessage(request, [request.apdu]);
    },
    listen(onResponse, onFault) {
      worker.onmessage = (event: MessageEvent) => {
        if (isCardResponse(event.data)) onResponse(event.data);
      };
      worker.onerror = (event: ErrorEvent) => onFault(new UiccError("ERR_CARD_FAULT", `the card worker failed: ${event.message}`));
    },
    async terminate() {
      worker.terminate();
    },
  };
}

/** Starts the card in a module Web Worker, provisioned with a copy of `kek`, and returns the proxy. */
export function spawnWebCardWorker(
  kek: Uint8Array,
  options: Omit<SoftCardOptions, "core"> & { workerUrl?: URL | string; proxy?: UiccProxyOptions } = {},
): UiccProxy {
  const { workerUrl, proxy, ...cardOptions } = options;
  const worker = new Worker(workerUrl ?? new URL("./card-web-worker.js", import.meta.url), { type: "module" });
  const buffer = copyBytes(kek).buffer as ArrayBuffer;
  const provisioning: CardProvisioning = { mbmsUiccCard: 1, kek: buffer, options: cardOptions };
  worker.postMessage(provisioning, [buffer]);
  return new UiccProxy(webWorkerChannel(worker), proxy);
}
