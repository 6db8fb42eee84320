// Opcodes whose latency can depend on their operand values on common CPUs (division, remainder,
// square root). A secret operand of one of these is reported as a 'variable-latency' violation.
import binaryen from "binaryen";

// Unary and binary op numbers overlap in Binaryen, so they are kept in separate sets.
const ops = (names) => new Set(names.map((n) => binaryen[n]).filter((op) => op !== undefined));

export const variableLatencyBinary = ops([
  "DivSInt32", "DivUInt32", "RemSInt32", "RemUInt32",
  "DivSInt64", "DivUInt64", "RemSInt64", "RemUInt64",
  "DivFloat32", "DivFloat64", "DivVecF32x4", "DivVecF64x2",
]);
export const variableLatencyUnary = ops(["SqrtFloat32", "SqrtFloat64", "SqrtVecF32x4", "SqrtVecF64x2"]);

// Lane ops that load into a vector (the others in SIMDLoadStoreLane store a lane).
export const laneLoadOps = ops(["Load8LaneVec128", "Load16LaneVec128", "Load32LaneVec128", "Load64LaneVec128"]);
