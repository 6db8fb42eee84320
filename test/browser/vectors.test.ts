// Every published vector in headless Chromium, in a module Worker (where the browser receiver decrypts),
// on both WASM builds: the suites of test/vectors/run-vectors.ts, bundled with the JSON for the page, run
// the library as built (dist/, served from 127.0.0.1). The vectors run must be exactly those Node runs
// (test/vectors.test.ts), so that one added later cannot be skipped in either place.
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLAVORS, nodeVectorResults } from "../helpers/node-vectors.js";
import { vectorId } from "../vectors/run-vectors.js";
import { bundleForPage, type PageBundle } from "./bundle-for-page.js";
import { CHROMIUM_PATH, launchChromium } from "./chromium.js";
import { serveStatic } from "./static-server.js";
import type { VectorsMessage } from "./vectors-worker.js";

const root = join(import.meta.dirname, "..", "..");
let bundle: PageBundle;
let message: VectorsMessage;
let cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian 'chromium'`);
  if (!existsSync(join(root, "dist", "index.js"))) throw new Error("dist/ missing: run npm run build");
  bundle = await bundleForPage(root, join(import.meta.dirname, "vectors-worker.ts"));
  cleanup.push(async () => rmSync(dirname(bundle.file), { recursive: true, force: true }));
  const served = await serveStatic(root, ["/dist/"], {
    "/": join(import.meta.dirname, "vectors.html"),
    "/vectors-worker.js": bundle.file,
  });
  cleanup.push(() => new Promise((resolve) => served.server.close(() => resolve())));
  const { context, close } = await launchChromium();
  cleanup.push(close);
  const page = await context.newPage();
  await page.goto(served.url);
  await page.waitForFunction(() => (window as { __vectors?: unknown }).__vectors !== undefined, null, { timeout: 90_000 });
  message = await page.evaluate(() => (window as unknown as { __vectors: VectorsMessage }).__vectors);
}, 120_000);

afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const runOf = (flavor: string) => {
  if ("error" in message) throw new Error(message.error);
  const run = message.runs.find((r) => r.flavor === flavor);
  if (!run) throw new Error(`no ${flavor} run`);
  return run;
};

describe("published vectors in a Chromium module Worker", () => {
  it("the page's bundle holds the suites and vectors only: the library comes from the served dist/", () => {
    expect(bundle.inputs.filter((p) => !p.startsWith("test/"))).toEqual([]);
    expect(bundle.inputs).toContain("test/vectors/run-vectors.ts");
    expect(bundle.external).toEqual(["/dist/index.js"]);
  });

  it("ran in a dedicated Worker, not on the page", () => {
    expect("error" in message ? message.error : message.scope).toBe("DedicatedWorkerGlobalScope");
  });

  describe.each(FLAVORS)("%s build", (flavor) => {
    it("is the build that loaded", () => {
      expect(runOf(flavor).loaded).toBe(flavor);
    });

    it("passes every vector", () => {
      expect(runOf(flavor).results.filter((r) => !r.ok)).toEqual([]);
    });

    it("runs exactly the vectors Node runs", () => {
      const browser = runOf(flavor).results.map(vectorId).sort();
      expect(browser).toEqual(nodeVectorResults(flavor).map(vectorId).sort());
    });
  });
});
