import { defineConfig } from "vitest/config";
import { REAL_TIME_TESTS } from "./vitest.soak.config.js";

export default defineConfig({
  test: {
    reporters: ["default", "./test/reporters/failure-summary.ts"],
    include: ["test/**/*.test.ts"],
    // Suites that need Debian packages run with vitest.system.config.ts (npm run test:system); the real-time
    // runs go alone afterwards (vitest.soak.config.ts, part of npm test).
    exclude: ["test/browser/**", "test/libsrtp/**", "test/tshark/**", "test/netns/**", "test/ffmpeg/**", ...REAL_TIME_TESTS],
    testTimeout: 120_000,
  },
});
