// Loads the built package (dist/) in headless Chromium from a page on 127.0.0.1 and checks the
// RFC 3711 B.2 keystream, an RFC 2202 HMAC and the 4-lane SHA-1 on both builds.
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

  it.each(["simd", "scalar"])("%s build: RFC 3711 B.2 keystream, RFC 2202 HMAC, 4-lane SHA-1, libsrtp's SRTP packet", (flavor) => {
    const r = results.results.find((x: { flavor: string }) => x.flavor === flavor);
    expect(r.keystream).toBe(
      "e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0",
    );
    expect(r.hmac).toBe("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    const abc = "a9993e364706816aba3e25717850c26c9cd0d89d";
    const empty = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    expect(r.sha1x4).toEqual([abc, empty, abc, empty]);
    expect(r.srtp).toBe("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402e1f97a0db78d6acc99ea179b8dbb");
    expect(r.back).toBe("800f1234decafbadcafebabe" + "ab".repeat(16));
  });
});
