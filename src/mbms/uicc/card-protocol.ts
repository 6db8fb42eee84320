/**
 * The message protocol between the ME (UiccProxy) and a card running in a worker. Browser-safe: it knows
 * nothing of worker_threads or Web Workers; the thin glue (card-worker.ts for Node) moves these objects.
 *
 *   ME → card:  { id, apdu }   apdu: an ArrayBuffer holding exactly one command APDU, transferred
 *   card → ME:  { id, apdu }   the response APDU, transferred
 *
 * `id` matches responses to requests (a non-negative safe integer chosen by the ME).
 */
import { copyBytes, encodeResponseApdu } from "./apdu.js";
import { SW } from "./errors.js";
import type { SoftCard, SoftCardOptions } from "./soft-card.js";

export interface CardRequest {
  id: number;
  apdu: ArrayBuffer;
}

export interface CardResponse {
  id: number;
  apdu: ArrayBuffer;
}

/** What the card's worker receives at start (workerData in Node). */
export interface CardProvisioning {
  /** Marks workerData meant for card-worker.ts. */
  mbmsUiccCard: 1;
  /** The KEK, transferred: the ME's copy is detached. */
  kek: ArrayBuffer;
  options?: Omit<SoftCardOptions, "core">;
}

export const isCardRequest = (m: unknown): m is CardRequest =>
  typeof m === "object" && m !== null && Number.isSafeInteger((m as CardRequest).id) && (m as CardRequest).id >= 0 &&
  (m as CardRequest).apdu instanceof ArrayBuffer;

export const isCardResponse = isCardRequest as (m: unknown) => m is CardResponse;

/** Runs one request through the card; the result is ready to post with its buffer in the transfer list. */
export function handleCardRequest(card: SoftCard, message: unknown): CardResponse | undefined {
  if (!isCardRequest(message)) {
    const id = (message as { id?: unknown } | null)?.id;
    if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) {
      return { id, apdu: encodeResponseApdu(SW.WRONG_LENGTH).buffer as ArrayBuffer };
    }
    return undefined; // nothing to answer to
  }
  const command = new Uint8Array(message.apdu);
  const response = card.process(command);
  command.fill(0);
  return { id: message.id, apdu: response.byteOffset === 0 && response.buffer.byteLength === response.length ? (response.buffer as ArrayBuffer) : (copyBytes(response).buffer as ArrayBuffer) };
}
