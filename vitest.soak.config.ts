import { defineConfig } from "vitest/config";

// The soak and hostile-channel runs (test/soak.test.ts) hold real-time schedules of 25 ms periods: they run
// after the rest of `npm test`, alone, so that other suites do not take the CPU their timers need.
export default defineConfig({
  test: {
    include: ["test/soak.test.ts"],
    testTimeout: 180_000,
  },
});
