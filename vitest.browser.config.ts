import { defineConfig } from "vitest/config";

// Suites that need Debian packages (Chromium): run by `npm run test:browser` and by .ci/run.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
