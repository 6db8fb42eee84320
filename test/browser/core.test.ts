// Loads the built package (dist/) in headless Chromium from a page on 127.0.0.1: SIMD detection, the
// synchronous load, and the UICC card in a module Web Worker. The published vectors run in the browser
// in vectors.test.ts (in a Worker, on both builds).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_PATH, launchChromium } from "./chromium.js";
import { serveStatic } from "./static-server.js";

const root = join(import.meta.dirname, "..", "..");
let stop: () => Promise<void>;
let url: string;
let closeBrowser: () => Promise<void>;
let results: any;

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian 'chromium'`);
  if (!existsSync(join(root, "dist", "wasm", "index.js"))) throw new Error("dist/ missing: run npm run build");
  const served = await serveStatic(root, ["/dist/"], { "/": join(root, "test", "browser", "page.html") });
  url = served.url;
  stop = () => new Promise((resolve) => served.server.close(() => resolve()));
  const { context, close } = await launchChromium();
  closeBrowser = close;
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => (window as any).__results !== undefined, null, { timeout: 30_000 });
  results = await page.evaluate(() => (window as any).__results);
}, 60_000);

afterAll(async () => {
  await closeBrowser?.();
  await stop?.();
});

describe("the core in headless Chromium", () => {
  it("runs the UICC card in a module Web Worker: the TEK it derives for an MKI matches the key hierarchy", () => {
    expect(results.card).toEqual({ sameTek: true, unknownIsUndefined: true });
  });

  it("loads without error, detects SIMD and loads synchronously too", () => {
    expect(results.error).toBeUndefined();
    expect(results.simdSupported).toBe(true);
    expect(results.syncFlavor).toBe("simd");
  });
});
