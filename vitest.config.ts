import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Suites that need Debian packages run with vitest.system.config.ts (npm run test:system); the soak runs
    // alone afterwards (vitest.soak.config.ts, part of npm test).
    exclude: ["test/browser/**", "test/libsrtp/**", "test/tshark/**", "test/netns/**", "test/ffmpeg/**", "test/soak.test.ts"],
    testTimeout: 120_000,
  },
});
