/** What the Session Manager tells the SRTP sender each time a TEK comes into force (session-manager.ts). */
import type { SrtpProfileName } from "../../srtp/profiles.js";

export interface TekEvent {
  serviceId: string;
  /** MKI = TGK-ID ‖ TEK_RAND2: the SRTP sender's addKey + setSendKey. */
  mki: Uint8Array;
  /** The TEK (SRTP master key) and the master salt. Zeroed after the listeners return: copy to keep. */
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  tgkId: number;
  /** The SRTP profile of the service: the sender's context must use it. */
  profile: SrtpProfileName;
  /** Validity of the TGK the TEK derives from, ms: no packet may be protected under it from `tgkExpiresAt` on. */
  tgkValidFrom: number;
  tgkExpiresAt: number;
  /** When this TEK came into force (the TEK_RAND2 period start), ms. */
  startsAt: number;
  /** true for the announcement at start() of a TEK already in force (e.g. after a restart). */
  resumed: boolean;
}
