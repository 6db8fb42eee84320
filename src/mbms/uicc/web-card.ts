/**
 * Page side of the browser card (card-web-worker.ts): start a module Web Worker provisioned with the
 * user's KEK and get a UiccProxy over it — in this context, or, through a MessageChannel, in another
 * worker (the browser receiver's), so that the KEK lives only in the card's worker. Browser-only (uses
 * Worker), no Node APIs.
 */
import { copyBytes } from "./apdu.js";
import { isCardResponse, type CardRequest } from "./card-protocol.js";
import type { WebCardProvisioning } from "./card-web-worker.js";
import { UiccError } from "./errors.js";
import type { SoftCardOptions } from "./soft-card.js";
import { UiccProxy, type CardChannel, type UiccProxyOptions } from "./uicc-proxy.js";

export type WebCardOptions = Omit<SoftCardOptions, "core"> & { workerUrl?: URL | string };

/**
 * A CardChannel over a Web Worker, or over a MessagePort whose other end the card serves. Terminating
 * a port channel closes the port only: whoever spawned the card worker ends it.
 */
export function webWorkerChannel(target: Worker | MessagePort): CardChannel {
  // A port has no terminate (and a worker scope need not define Worker at all, so no instanceof).
  const worker = "terminate" in target ? target : undefined;
  return {
    post(request: CardRequest) {
      target.postMessage(request, [request.apdu]);
    },
    listen(onResponse, onFault) {
      target.onmessage = (event: MessageEvent) => {
        if (isCardResponse(event.data)) onResponse(event.data);
      };
      if (worker) {
        worker.onerror = (event: ErrorEvent) => onFault(new UiccError("ERR_CARD_FAULT", `the card worker failed: ${event.message}`));
      }
    },
    async terminate() {
      if (worker) worker.terminate();
      else (target as MessagePort).close();
    },
  };
}

/** Starts the card worker, provisioned with a copy of `kek`; `port`, when given, is where it serves APDUs. */
function startCardWorker(kek: Uint8Array, options: WebCardOptions, port?: MessagePort): Worker {
  const { workerUrl, ...cardOptions } = options;
  const worker = new Worker(workerUrl ?? new URL("./card-web-worker.js", import.meta.url), { type: "module" });
  const buffer = copyBytes(kek).buffer as ArrayBuffer;
  const provisioning: WebCardProvisioning = { mbmsUiccCard: 1, kek: buffer, options: cardOptions, ...(port ? { port } : {}) };
  worker.postMessage(provisioning, port ? [buffer, port] : [buffer]);
  return worker;
}

/** Starts the card in a module Web Worker, provisioned with a copy of `kek`, and returns the proxy. */
export function spawnWebCardWorker(kek: Uint8Array, options: WebCardOptions & { proxy?: UiccProxyOptions } = {}): UiccProxy {
  const { proxy, ...cardOptions } = options;
  return new UiccProxy(webWorkerChannel(startCardWorker(kek, cardOptions)), proxy);
}

/** A card worker serving another context: transfer `port` there and build the proxy with webWorkerChannel(port). */
export interface WebCardHandle {
  readonly port: MessagePort;
  /** Ends the card worker (its KEK goes with it). */
  terminate(): void;
}

export function spawnWebCardForPort(kek: Uint8Array, options: WebCardOptions = {}): WebCardHandle {
  const channel = new MessageChannel();
  const worker = startCardWorker(kek, options, channel.port1);
  return { port: channel.port2, terminate: () => worker.terminate() };
}
