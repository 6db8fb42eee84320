// The BM-SC (sender) side of MBMS: the persistent key store, the Session Manager (TGKs, TEK_RAND,
// TEK_RAND2 schedule, key messages, retrieval windows), request authentication and the HTTP key server.
// Node-only where it serves HTTP (key-server.ts) or opens SQLite (store); the rest is plain JS.
export * from "./store/index.js";
export * from "./session-manager.js";
export * from "./tek-event.js";
export type { ServiceConfig } from "./service-config.js";
export { randomBelow, type RekeySpread } from "./retrieval-window.js";
export { systemClock, type Clock } from "../../clock.js";
export * from "../../logger.js";
export * from "./reconcile-users.js";
export * from "./request-auth.js";
export * from "./rate-limiter.js";
export * from "./key-server.js";
export * from "./mbms-sender.js";
export { SsrcRegistration, randomSequence } from "./ssrc-registry.js";
export { DEFAULT_LEASE_TTL_MS, type ScheduleLeaseOptions } from "./schedule-lease.js";
export * from "./tek-schedule.js";
export type { RevocationMode } from "./revocation.js";
