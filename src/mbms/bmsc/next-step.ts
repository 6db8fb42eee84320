// When a service's next schedule step is due (session-manager.ts arms its timer with the soonest of all
// services): a TGK to generate, retire or prepare, or the end of the TEK_RAND2 period in force.
import type { ServiceSettings } from "./service-config.js";
import type { AsyncKeyStore } from "./store/index.js";
import { prepareAt } from "./tek-rotation.js";
import { liveTgks, wipeTgks } from "./tgk-chain.js";

/** When the service's next step is due: a TGK to generate, retire or prepare, or the end of the TEK_RAND2 period. */
export async function nextStepDue(store: AsyncKeyStore, s: ServiceSettings, now: number, retryMs: number): Promise<number> {
  try {
    let next = Infinity;
    const tgks = wipeTgks(await liveTgks(store, s.serviceId, now));
    const cur = tgks.find((t) => t.validFrom <= now);
    const last = tgks[tgks.length - 1];
    if (last) next = Math.min(next, last.expiresAt - s.nextTgkLeadMs);
    if (cur) next = Math.min(next, cur.expiresAt);
    // The end of the period in force: due now if it has passed. (Aligning on `now` instead skipped a
    // period whenever a timer fired a millisecond early by Date.now and this read the clock again on
    // the boundary: the soak test caught 2 of 60 periods missing.)
    const st = await store.getTekRand2(s.serviceId);
    const prepare = prepareAt(s, tgks, st, now);
    if (prepare !== undefined) next = Math.min(next, prepare);
    return st ? Math.min(next, st.currentStart + s.tekRand2PeriodMs) : next;
  } catch {
    return now + retryMs;
  }
}
