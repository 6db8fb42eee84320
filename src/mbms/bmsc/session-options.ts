/** The Session Manager's options (session-manager.ts). */
import type { Clock } from "../../clock.js";
import type { Logger } from "../../logger.js";
import type { CryptoCore } from "../../wasm/core.js";
import type { MkiLayout, TekDerivation } from "../key-hierarchy.js";
import type { RekeySpread } from "./retrieval-window.js";
import type { RevocationMode } from "./revocation.js";
import type { ScheduleLeaseOptions } from "./schedule-lease.js";
import type { ServiceConfig } from "./service-config.js";
import type { AsyncKeyStore, KeyStore } from "./store/index.js";
import type { TekEvent } from "./tek-event.js";

export interface SessionManagerOptions {
  /**
   * The BM-SC's state: a synchronous KeyStore (MemoryKeyStore, SqliteKeyStore; lifted with asyncStore) or
   * an AsyncKeyStore (one carrying `async: true`: asyncStore's result, a network store). `manager.store` is
   * the AsyncKeyStore either way.
   */
  store: KeyStore | AsyncKeyStore;
  /** Added by SessionManager.create (the constructor takes none: adding a service awaits the store). */
  services?: ServiceConfig[];
  /** The BM-SC's identity in key messages (IDi), default "bmsc.mbms.invalid". */
  bmscId?: string;
  clock?: Clock;
  onTek?: (event: TekEvent) => void;
  logger?: Logger;
  /** MKI layout (default TGK-ID 4 bytes ‖ TEK_RAND2 8 bytes). */
  layout?: Partial<MkiLayout>;
  /** TEK derivation (default "alt1": TEK = f(TGK, TEK_RAND, TEK_RAND2)). */
  derivation?: TekDerivation;
  /** How users are spread over the retrieval window (default "hash"). */
  rekeySpread?: RekeySpread;
  /** Number of slots the retrieval window is cut into (default 16). */
  rekeySlots?: number;
  /** Retry delay after a failed schedule step (default 1 s). */
  retryMs?: number;
  /**
   * What removing, disabling or unsubscribing a user does to the TGKs it already holds (revocation.ts).
   * "fresh-tgk" (default): they stop working now — a fresh TGK, the remaining receivers re-key on demand.
   * "none": they work until they expire.
   */
  revocation?: RevocationMode;
  core?: CryptoCore;
  /**
   * Several BM-SC instances on one store (schedule-lease.ts): only the holder of a service's lease rotates
   * TEK_RAND2 and generates TGKs; every instance announces what the store holds. Absent: this instance is
   * the only one and owns every schedule (no lease calls).
   */
  lease?: ScheduleLeaseOptions;
}
