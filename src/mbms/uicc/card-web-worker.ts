/**
 * The card in a browser: the entry of a module Web Worker running a SoftCard. The first message
 * provisions it (CardProvisioning: the KEK, transferred, so the page's copy is detached); every later
 * message is one APDU (card-protocol.ts). The Node equivalent is card-worker.ts.
 */
import { loadCore } from "../../wasm/load.js";
import { handleCardRequest, type CardProvisioning } from "./card-protocol.js";
import { SoftCard } from "./soft-card.js";

interface WorkerScope {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let card: SoftCard | undefined;

scope.onmessage = ({ data }) => {
  if (card === undefined) {
    const provisioning = data as CardProvisioning;
    if (provisioning?.mbmsUiccCard !== 1 || !(provisioning.kek instanceof ArrayBuffer)) return;
    const kek = new Uint8Array(provisioning.kek);
    card = new SoftCard(kek, { ...provisioning.options, core: loadCore() });
    kek.fill(0);
    return;
  }
  const response = handleCardRequest(card, data);
  if (response) scope.postMessage(response, [response.apdu]);
};
