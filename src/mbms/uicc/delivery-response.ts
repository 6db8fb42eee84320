/**
 * The value of the card's answer to a key message delivery (AUTHENTICATE mode 01, apdu.ts): the plaintext of
 * the message's sealed Key ID extension (sealed-key-ids.ts), an RFC 4563 Key ID list of the service id (type 0)
 * and each TGK's TGK-ID ‖ valid-from ‖ expires-at (type 241). No key: the ME learns from it which service
 * and TGK-IDs the card now holds, and until when, which the key message no longer shows in clear. The card
 * encodes it with encodeSealedKeyIds; the ME's proxy decodes it here, as a card answer. Browser-safe.
 */
import { MbmsError } from "../errors.js";
import { decodeSealedKeyIds, type SealedKeyFacts } from "../sealed-key-ids.js";
import { UiccError } from "./errors.js";

/**
 * Reads `value` (which the caller zeroes) strictly: exactly one service id, at least one TGK validity, nothing
 * else; ERR_BAD_RESPONSE for anything malformed, or no value at all.
 */
export function decodeDeliveryResponse(value: Uint8Array | undefined): SealedKeyFacts {
  if (!value || value.length === 0) throw new UiccError("ERR_BAD_RESPONSE", "a key message delivery answered without the sealed facts");
  try {
    return decodeSealedKeyIds(value);
  } catch (e) {
    if (e instanceof MbmsError) throw new UiccError("ERR_BAD_RESPONSE", `a delivery response that does not decode: ${e.message}`);
    throw e;
  }
}
