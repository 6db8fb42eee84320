// The UE (receiver) side of MBMS: TEK sources (ME-based here; UICC-based over the card proxy), the MKI
// evaluator in front of the SRTP receive context, and the HTTP key client. Browser-safe.
export * from "./tek-source.js";
export * from "./mki-evaluator.js";
export { EvaluatorStatus, type MkiEvaluatorOptions, type MkiEvaluatorStats } from "./evaluator-options.js";
export * from "./key-client.js";
export * from "./ue-receiver.js";
