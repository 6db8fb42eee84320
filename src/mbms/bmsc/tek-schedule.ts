/**
 * What a service's schedule promises its sender, computed from the configuration alone (not from what the
 * SessionManager did), so that a run can be checked against it: TEK_RAND2 changes every `tekRand2PeriodMs`
 * and whenever the TGK in force changes, and a TGK change restarts the period grid (session-manager.ts).
 */
export interface TekScheduleWalk {
  /** startsAt of the sender's first TEK and the expiry of its TGK. */
  firstStart: number;
  firstTgkExpiresAt: number;
  tekRand2PeriodMs: number;
  tgkLifetimeMs: number;
}

/** TEK changes the schedule makes in (firstStart, endMs]: each period end and each TGK expiry, once. */
export function scheduledTekSwitches(w: TekScheduleWalk, endMs: number): number {
  let switches = 0;
  let periodStart = w.firstStart;
  let tgkEnd = w.firstTgkExpiresAt;
  for (;;) {
    const next = Math.min(periodStart + w.tekRand2PeriodMs, tgkEnd);
    if (next > endMs) return switches;
    switches++;
    if (next === tgkEnd) tgkEnd += w.tgkLifetimeMs;
    periodStart = next;
  }
}
