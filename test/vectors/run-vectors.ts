// Every published vector suite on one core: what the Node tests (test/vectors.test.ts) and the browser
// Worker (test/browser/vectors-worker.ts) both run, so that neither can skip a vector the other checks.
// No Node built-ins and no test framework: the library and the vectors are passed in.
import { wasmBackend } from "./kernel-backend.js";
import { kernelVectors } from "./kernel-suite.js";
import type { CryptoCore, VectorLibrary } from "./library.js";
import { mikeyPrfVectors, mikeyTekVectors } from "./mikey-suite.js";
import type { PublishedVectors } from "./published.js";
import type { VectorResult } from "./result.js";
import { serviceMatrixVectors } from "./service-matrix-suite.js";
import { srtpKdfVectors, srtpPacketVectors } from "./srtp-suite.js";

export type { VectorResult } from "./result.js";

export function runVectors(lib: VectorLibrary, core: CryptoCore, vectors: PublishedVectors): VectorResult[] {
  return [
    ...kernelVectors(wasmBackend(core), vectors.kernels),
    ...srtpKdfVectors(core, vectors.srtp.kdf),
    ...srtpPacketVectors(lib, core, vectors.srtp.packets),
    ...mikeyPrfVectors(core, vectors.mikeyPrf),
    ...mikeyTekVectors(lib, core, vectors.mikeyTek),
    ...serviceMatrixVectors(lib, core, vectors.serviceMatrix),
  ];
}

/** A result's identity across runs: suite and vector name. */
export const vectorId = (r: Pick<VectorResult, "suite" | "name">): string => `${r.suite}: ${r.name}`;
