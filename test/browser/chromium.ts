// The browser suites' Chromium: the launcher (flags, temporary profile) lives in scripts/chromium.mjs,
// shared with the browser benchmark; the suites keep importing it from here.
export { CHROMIUM_PATH, launchChromium } from "../../scripts/chromium.mjs";
