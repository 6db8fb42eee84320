// Starts headless Debian Chromium through playwright-core, with the flags that work on these machines
// and a fresh profile directory. Plain JavaScript, so that the browser suites (test/browser/chromium.ts)
// and the browser benchmark (bench/browser-srtp.mjs) share it without a build.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A persistent context on a temporary profile (playwright refuses --user-data-dir); `close` removes it. */
export async function launchChromium() {
  const profile = mkdtempSync(join(tmpdir(), "mbms-srtp-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
