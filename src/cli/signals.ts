/**
 * SIGINT and SIGTERM, the same for every command: the first aborts the run's signal, so the command stops
 * as at its normal end (sockets closed, keys zeroed, summary or JSON printed) and exits with the status its
 * run earned (0 if everything was ok so far, 1 otherwise); a second exits at once with 128 + the signal's
 * number (130 for SIGINT, 143 for SIGTERM), without the summary.
 */
import { constants } from "node:os";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Runs `fn` with an AbortSignal that the first SIGINT or SIGTERM aborts; a second one exits the process. */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const on = (name: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(128 + constants.signals[name]);
    abort.abort();
  };
  for (const s of SIGNALS) process.on(s, on);
  try {
    return await fn(abort.signal);
  } finally {
    for (const s of SIGNALS) process.off(s, on);
  }
}

/** The usage texts' sentence on signals. */
export const SIGNALS_HELP = `SIGINT (Ctrl-C) or SIGTERM stops as at the end (summary printed, same exit status);
a second one exits at once with 130 (SIGINT) or 143 (SIGTERM).`;
