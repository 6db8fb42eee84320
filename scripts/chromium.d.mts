// Types for chromium.mjs beside it (plain JavaScript, so that benchmarks run it without a build).
import type { BrowserContext } from "playwright-core";

export const CHROMIUM_PATH: string;

/** Headless Chromium on a temporary profile; `close` ends it and removes the profile. */
export function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }>;
