// Types for taint.mjs.
export type ViolationKind = "branch" | "address" | "call" | "variable-latency" | "unknown";
export interface Violation { kind: ViolationKind; where: string }
export function checkConstantTime(
  wasmBytes: Uint8Array,
  functionNames: string[],
): { fn: string; violations: Violation[] }[];
