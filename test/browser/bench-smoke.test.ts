// Smoke test of the browser SRTP benchmark (npm run bench:browser) with tiny counts: it runs in headless
// Chromium, every case in the Worker (WASM single and batch, WebCrypto awaited and in flight, noble) and
// WASM on the main thread decrypts every packet to the original payload, and each refuses a forged tag.
// Speed is measured by the benchmark, not asserted here.
import { describe, expect, it } from "vitest";
import { runBrowserBench } from "../../bench/browser/run.mjs";

describe("the browser SRTP benchmark", () => {
  it("agrees across WASM, WebCrypto and noble, in the Worker and on the main thread", async () => {
    // 70 packets: one full batch of 64 and a partial one.
    const r = await runBrowserBench({ packets: 70, payload: 1200, batch: 64, trials: 1 });
    const cases = ["wasm", "wasm batch 64", "webcrypto await", "webcrypto in flight 64", "noble"];
    expect(r.flavor).toBe("simd");
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.forgeryRejected).toEqual(Object.fromEntries([...cases, "wasm (main thread)"].map((c) => [c, true])));
    for (const trial of [r.warmUp, ...r.trials]) {
      expect(Object.keys(trial).sort()).toEqual([...cases].sort());
      for (const c of cases) expect(trial[c]!.checked).toBe(70);
    }
    for (const t of [r.threadsWarmUp, ...r.threads]) expect([t.worker.checked, t.main.checked]).toEqual([70, 70]);
  });
});
