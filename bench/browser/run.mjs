// Node side of the browser SRTP benchmark: bundles page.mjs and worker.mjs with esbuild (from dist/, the
// built package, and the noble peer), serves them from memory on 127.0.0.1 (cross-origin isolated, for
// Chromium's 5 µs timer instead of 100 µs), runs the page in headless Chromium and returns its results.
import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { CHROMIUM_PATH, launchChromium } from "../../scripts/chromium.mjs";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

async function bundles() {
  if (!existsSync(here("../../dist/index.js"))) throw new Error("dist/ missing: run npm run build");
  const { outputFiles } = await build({
    entryPoints: { page: here("page.mjs"), worker: here("worker.mjs") },
    bundle: true, format: "esm", platform: "browser", target: "es2022", outdir: "/", write: false, logLevel: "warning",
  });
  const routes = { "/": { type: "text/html", body: readFileSync(here("page.html")) } };
  for (const f of outputFiles) routes[f.path] = { type: "text/javascript", body: f.contents };
  return routes;
}

async function serve(routes) {
  const server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? "/", "http://x").pathname];
    if (!route) return res.writeHead(404).end();
    res.writeHead(200, {
      "content-type": route.type, "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp",
    }).end(route.body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Runs `trials` (+ a warm-up) of every case over `packets` packets of `payload` bytes, batches of `batch`. */
export async function runBrowserBench({ packets, payload, batch, trials }) {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian 'chromium'`);
  const server = await serve(await bundles());
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/?${new URLSearchParams({ packets, payload, batch, trials })}`);
    await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: 0, polling: 250 });
    const result = await page.evaluate(() => window.__bench);
    if (result.error || errors.length) throw new Error(`in the page: ${result.error ?? errors.join("\n")}`);
    return result;
  } finally {
    await browser.close();
    await server.close();
  }
}
