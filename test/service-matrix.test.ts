// Every service configuration works end to end, or is refused when configured (issue 15). Through the real
// roles (src/cli/soak.ts: SessionManager → key server over HTTP on 127.0.0.1 → key client → MKI evaluator →
// SrtpContext, an ME-based and a UICC-based UeReceiver per service, the card in a worker): every SRTP
// profile × TGK 16 and 32 bytes × Alternative 1 and 2 × two MKI layouts. The receivers are told none of it:
// the key message carries what they need. Each service sees ≥ 3 TEK switches and ≥ 1 TGK change.
import { describe, expect, it } from "vitest";
// The compiled package (dist/, built before the tests): the card worker runs from dist/.
import { runSoak } from "../dist/cli/soak.js";
import { MATRIX_LAYOUTS, MATRIX_PROFILES } from "./helpers/mikey-reference.js";

const SERVICES = MATRIX_PROFILES.flatMap(({ profile }) => [16, 32].map((tgkLength) => ({ profile, tgkLength: tgkLength as 16 | 32 })));

describe("service matrix", () => {
  for (const derivation of ["alt1", "alt2"] as const) {
    for (const layout of MATRIX_LAYOUTS) {
      it(`${derivation}, MKI ${layout.tgkIdBytes}+${layout.randBytes}: 4 profiles × TGK 16/32, ME and UICC, every packet decrypted`, async () => {
        const r = await runSoak({
          // TGK_LIFE 1200 ms: the scheduled re-key has 150 ms of slack before the next TGK is in force (16
          // receivers, 8 with a card worker, in one process on 2 cores: at 600 ms, 75 ms was sometimes too little).
          durationMs: 2600, tekPeriodMs: 150, tgkLifetimeMs: 1200, packetsPerSecond: 200, services: SERVICES, derivation, layout,
          maxSwitchDelayMs: { ME: 150, UICC: 400 },
        });
        expect(r.failures).toEqual([]);
        expect(r.receivers).toHaveLength(2 * SERVICES.length);
        for (const s of r.senders) {
          expect(s.tekSwitches, s.serviceId).toBeGreaterThanOrEqual(3);
          expect(s.tgkIds.length, s.serviceId).toBeGreaterThanOrEqual(2);
        }
        for (const x of r.receivers) {
          expect({ name: x.name, missing: x.missing, authFailed: x.authFailed }).toEqual({ name: x.name, missing: 0, authFailed: 0 });
          expect(x.switches, x.name).toBeGreaterThanOrEqual(3);
        }
      }, 30_000);
    }
  }

  it("an MKI layout longer than an SRTP MKI (16 bytes) is refused at start", async () => {
    await expect(runSoak({ durationMs: 100, tekPeriodMs: 50, tgkLifetimeMs: 500, layout: { tgkIdBytes: 4, randBytes: 16 } }))
      .rejects.toMatchObject({ code: "ERR_MKI_LAYOUT" });
  });

  it("a cs_id no key message can carry is refused at start, before anything is streamed", async () => {
    await expect(runSoak({ durationMs: 100, tekPeriodMs: 50, tgkLifetimeMs: 500, services: [{ csId: 7 }] }))
      .rejects.toMatchObject({ code: "ERR_ARGUMENT" });
  });
});
