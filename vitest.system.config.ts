import { defineConfig } from "vitest/config";

// Suites that need Debian packages: Chromium (test/browser) and libsrtp2-dev through the native addon
// (test/libsrtp), tshark (test/tshark), iproute2 + root for a network namespace (test/netns), ffmpeg/ffprobe for real video (test/ffmpeg). Run by
// `npm run test:system` and by .ci/run, which installs the packages first.
// They fail, never skip, when their tool is missing.
export default defineConfig({
  test: {
    reporters: ["default", "./test/reporters/failure-summary.ts"],
    include: ["test/browser/**/*.test.ts", "test/libsrtp/**/*.test.ts", "test/tshark/**/*.test.ts", "test/netns/**/*.test.ts", "test/ffmpeg/**/*.test.ts"],
    testTimeout: 120_000,
  },
});
