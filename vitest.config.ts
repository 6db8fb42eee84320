import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Suites that need Debian packages run with vitest.system.config.ts (npm run test:system).
    exclude: ["test/browser/**", "test/libsrtp/**", "test/tshark/**", "test/netns/**", "test/ffmpeg/**"],
    testTimeout: 120_000,
  },
});
