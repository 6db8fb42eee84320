import { defineConfig } from "vitest/config";

// The runs that hold real-time schedules — the soak and hostile-channel runs (25 ms periods), the service
// matrix (16 receivers on 150 ms periods) and the re-key load (10,000 UEs, peaks per 100 ms) — run after
// the rest of `npm test`, alone and one file at a time, so that other suites do not take the CPU their
// timers need (on a 2-core machine the matrix's re-keys came late, and the load's peaks flattened less).
export const REAL_TIME_TESTS = ["test/soak.test.ts", "test/service-matrix.test.ts", "test/rekey-load.test.ts", "test/bmsc-lease-soak.test.ts"];

export default defineConfig({
  test: {
    reporters: ["default", "./test/reporters/failure-summary.ts"],
    include: REAL_TIME_TESTS,
    fileParallelism: false,
    testTimeout: 180_000,
  },
});
