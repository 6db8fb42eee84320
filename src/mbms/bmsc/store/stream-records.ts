// Stream positions in the store: each sender's SSRC with the ROC of its current index, written by the
// sender (the holder of the SSRC's lease, ssrc-registry.ts) every few hundred milliseconds, so that a key
// message answered by any instance names every sender of the service with its ROC (stream-positions.ts;
// RFC 3711 §3.3.1). A record lives until its expiry: a sender that died stops being named soon after.
import { MbmsError } from "../../errors.js";
import { MAX_STREAMS_PER_MESSAGE } from "../../stream-positions.js";
export type { SrtpStreamPosition } from "../../stream-positions.js";
import { checkId, checkTime } from "./types.js";

/** At most this many records are listed per service: what one key message carries. */
export const MAX_LISTED_STREAMS = MAX_STREAMS_PER_MESSAGE;

const isU32 = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

export function checkStreamRecord(serviceId: unknown, ssrc: unknown, roc?: unknown, ttlMs?: unknown, now?: unknown): void {
  checkId("service", serviceId);
  if (!isU32(ssrc)) throw new MbmsError("ERR_ARGUMENT", "SSRC must be a 32-bit unsigned integer");
  if (roc === undefined) return;
  if (!isU32(roc)) throw new MbmsError("ERR_ARGUMENT", "ROC must be a 32-bit unsigned integer");
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new MbmsError("ERR_ARGUMENT", "TTL must be a positive integer of milliseconds");
  checkTime("now", now);
}

export function checkStreamList(serviceId: unknown, now: unknown): void {
  checkId("service", serviceId);
  checkTime("now", now);
}
