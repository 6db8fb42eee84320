/**
 * The card in a browser: the entry of a module Web Worker running a SoftCard. The first message
 * provisions it (WebCardProvisioning: the KEK, transferred, so the page's copy is detached, and
 * optionally a MessagePort to serve instead of the worker's own channel — the browser receiver's worker
 * holds its other end); every later message is one APDU (card-protocol.ts). The Node equivalent is
 * card-worker.ts.
 */
import { loadCore } from "../../wasm/load.js";
import { handleCardRequest, type CardProvisioning } from "./card-protocol.js";
import { SoftCard } from "./soft-card.js";

export interface WebCardProvisioning extends CardProvisioning {
  /** Serve APDUs on this port (transferred) rather than on the worker's own messages. */
  port?: MessagePort;
}

interface Channel {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as Channel;

scope.onmessage = ({ data }) => {
  const provisioning = data as WebCardProvisioning;
  if (provisioning?.mbmsUiccCard !== 1 || !(provisioning.kek instanceof ArrayBuffer)) return;
  const kek = new Uint8Array(provisioning.kek);
  const card = new SoftCard(kek, { ...provisioning.options, core: loadCore() });
  kek.fill(0);
  const channel: Channel = provisioning.port ?? scope;
  if (channel !== scope) scope.onmessage = null;
  channel.onmessage = ({ data: request }) => {
    const response = handleCardRequest(card, request);
    if (response) channel.postMessage(response, [response.apdu]);
  };
};
