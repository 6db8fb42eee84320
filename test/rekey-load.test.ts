// Re-key implosion under load (bench/rekey-load.mjs, here on the TypeScript sources): ≥ 10,000 simulated
// UEs in-process against the real key server on 127.0.0.1 (keep-alive Agent, maxSockets 64), re-keying
// around a TGK expiry on a compressed time axis (retrieval window = 20 s of real time here, so that the
// 5× bar holds with margin even when the machine is busy with other suites; the bench defaults to 10 s). (a) Unmitigated: all at the expiry instant. (b) Mitigated:
// each UE at a random time inside its server-assigned retrieval window, plus jitter. Asserts zero failed
// deliveries in both and a mitigated peak (server arrivals per 100 ms) ≤ 1/5 of the unmitigated one.
// Prints the figures; `node bench/rekey-load.mjs` gives the full run and writes bench/results/.
import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs module without types, shared with the benchmark
import { formatRekeyLoad, runRekeyLoad } from "../bench/rekey-load.mjs";
import * as bmsc from "../src/mbms/bmsc/index.js";
import * as proto from "../src/mbms/http-protocol.js";
import { openMbmsKeyMessage } from "../src/mbms/key-message.js";

const lib = { ...bmsc, ...proto, openMbmsKeyMessage };

describe("re-key load", () => {
  it("10,000 UEs: zero failed deliveries; mitigated peak ≤ 1/5 of unmitigated", async () => {
    const t0 = Date.now();
    const out = await runRekeyLoad(lib, { ues: 10_000, windowMs: Number(process.env.REKEY_WINDOW_MS ?? 20_000), jitterMs: 500, maxSockets: 64 });
    console.info(formatRekeyLoad(out));
    console.info(JSON.stringify(out));
    expect(out.unmitigated.failed).toBe(0);
    expect(out.mitigated.failed).toBe(0);
    expect(out.unmitigated.delivered).toBe(10_000);
    expect(out.mitigated.delivered).toBe(10_000);
    expect(out.mitigated.peakPer100ms * 5).toBeLessThanOrEqual(out.unmitigated.peakPer100ms);
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 90_000);
});
