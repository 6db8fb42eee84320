// Regenerates docs/browser-receiver.jpg, the README's picture of the receiver page: `demo --browser`
// (ffmpeg video), the UICC user's page in headless Chromium, a screenshot once it has switched keys.
//   npm run build && node scripts/browser-screenshot.mjs
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";

const out = fileURLToPath(new URL("../docs/browser-receiver.jpg", import.meta.url));
const main = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const demo = spawn(process.execPath, [main, "demo", "--browser", "--duration", "30", "--json"], { stdio: ["ignore", "pipe", "inherit"] });
let text = "";
const url = await new Promise((resolve) => demo.stdout.on("data", (d) => {
  text += d;
  const m = /^open \(UICC\): (\S+)/m.exec(text);
  if (m) resolve(m[1]);
}));
const { context, close } = await launchChromium();
try {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1000, height: 760 });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis.mbms?.stats?.keySwitches ?? 0) >= 4, null, { timeout: 30_000 });
  await page.screenshot({ path: out, type: "jpeg", quality: 70, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await close();
  demo.kill("SIGINT");
}
